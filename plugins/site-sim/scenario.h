// scenario.h — a believable day at a road crossing, as data: the vehicles that arrive at each
// lane, their plates, their drivers' and passengers' documents (as machine-readable zones),
// their containers, their declared and actual weights, and the faults a real site sees (OCR
// damage, wrong check digits, weight discrepancies, people and vehicles a watchlist knows).
//
// Deterministic: the same seed and the same sequence of Next() calls give the same vehicles,
// so a demo or a test that sees something odd can be replayed. Independent of sockets and
// clocks (the simulator decides when things happen; see site_sim.cpp).
//
// Thread safety: a plain value; one thread at a time.
#ifndef KORDON_PLUGINS_SITE_SIM_SCENARIO_H_
#define KORDON_PLUGINS_SITE_SIM_SCENARIO_H_

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace kordon::sim {

struct Person {
  std::string surname;      // MRZ form: A-Z and '<' between parts
  std::string given_names;  // MRZ form
  std::string nationality;  // ICAO three-letter code
  std::string birth;        // YYMMDD
  char sex = 'M';
  std::string document_number;  // up to 9 characters, A-Z 0-9
  std::string expiry;           // YYMMDD
  bool id_card = false;         // a TD1 identity card instead of a TD3 passport
  bool watchlisted = false;     // one of kWatchlistPersons
};

struct Container {
  std::string code;       // 11 characters as painted on the box (owner, category, serial, check)
  std::string registered_code;  // the owner's registered number, as declared in the manifest:
                                // differs from `code` only when the check digit is painted wrong
  std::string size_type;  // ISO 6346 size/type, e.g. "22G1"
  bool check_digit_wrong = false;  // painted (or read) with a wrong check digit
};

enum class VehicleKind { kCar, kTruck };

// A pre-arrival declaration (the simplified manifest a carrier lodges before arriving).
struct Manifest {
  std::string number;  // e.g. "KG-2026-000123"
  std::string consignor;
  std::string consignee;
  std::string origin;       // ISO 3166-1 alpha-2
  std::string destination;  // ISO 3166-1 alpha-2
  std::string hs_code;      // six digits
  std::string goods;
  double declared_gross_kg = 0;  // the cargo's gross weight (goods and packing), truck excluded
};

// Every simulated truck (tractor and trailer, empty) weighs this much; the demo's risk profile
// uses the same figure (`vehicle_tare_kg`) to compare the scale with the declaration.
constexpr double kTruckTareKg = 15000;

struct Vehicle {
  uint64_t seq = 0;  // 1, 2, ... in the order Next() made them
  VehicleKind kind = VehicleKind::kCar;
  std::string plate;          // normalised form (A-Z 0-9), what a reader should publish
  std::string plate_raw;      // as the camera reads it: spaces, dashes, Cyrillic look-alikes
  std::string plate_country;  // ISO 3166-1 alpha-2
  std::string plate_region;   // "" when the format has none
  double plate_confidence = 0.9;
  bool plate_watchlisted = false;
  Person driver;
  std::vector<Person> passengers;
  // One MRZ per person (driver first), lines joined with "\n", possibly OCR-damaged.
  std::vector<std::string> documents;
  std::vector<Container> containers;  // trucks only, 0..2
  bool has_manifest = false;          // trucks only
  Manifest manifest;
  double gross_kg = 0;  // what the weighbridge will show: truck and cargo (cars: not weighed)
  std::vector<std::string> notes;  // what is odd about this vehicle, in words ("" when nothing)
};

// People and vehicles a demo watchlist knows (issue 4 loads them; the README lists them).
struct WatchlistPerson {
  const char* surname;
  const char* given_names;
  const char* nationality;
  const char* birth;  // YYMMDD
};
extern const WatchlistPerson kWatchlistPersons[3];
extern const char* const kWatchlistPlates[2];  // normalised

struct ScenarioOptions {
  uint64_t seed = 1;
  // Today, for birth and expiry dates that make sense (adults, documents valid for years).
  std::chrono::year_month_day today{std::chrono::year{2026}, std::chrono::month{11},
                                    std::chrono::day{28}};
  // Rates of the faults, 0..1.
  double ocr_damage_rate = 0.06;        // a digit of a date read as its look-alike letter
  double mrz_check_wrong_rate = 0.03;   // a document whose check digit is wrong
  double container_check_wrong_rate = 0.05;
  double weight_discrepancy_rate = 0.12;  // actual gross differs from declared by 8..25 %
  double watchlist_rate = 0.04;           // a watchlisted driver or plate
  double low_confidence_rate = 0.05;      // a plate read below 0.6
};

class Scenario {
 public:
  explicit Scenario(ScenarioOptions options);

  // The next vehicle for a lane that takes `kind`.
  Vehicle Next(VehicleKind kind);

 private:
  Person NewPerson(bool driver);
  void NewPlate(Vehicle* v);
  std::string MrzOf(const Person& p, Vehicle* v);
  Container NewContainer(Vehicle* v);
  double Uniform(double lo, double hi);
  bool Chance(double p);
  template <typename T> const T& Pick(const std::vector<T>& items);

  ScenarioOptions options_;
  std::mt19937_64 random_;
  uint64_t seq_ = 0;
  uint64_t manifest_seq_ = 0;
};

// A TD3 passport MRZ (2 × 44) or a TD1 card (3 × 30), lines joined with "\n", every check digit
// right.
std::string EncodeMrz(const Person& p);

}  // namespace kordon::sim

#endif  // KORDON_PLUGINS_SITE_SIM_SCENARIO_H_
