// The ICAO Doc 9303 specimen machine-readable zones, shared by the MRZ tests.
#ifndef KORDON_TESTS_MRZ_SPECIMENS_H_
#define KORDON_TESTS_MRZ_SPECIMENS_H_

#include <string>

// Doc 9303 part 4 (TD3 passport).
inline const std::string kTd3Line1 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<";
inline const std::string kTd3Line2 = "L898902C36UTO7408122F1204159ZE184226B<<<<<10";
// Doc 9303 part 5 (TD1 identity card).
inline const std::string kTd1Line1 = "I<UTOD231458907<<<<<<<<<<<<<<<";
inline const std::string kTd1Line2 = "7408122F1204159UTO<<<<<<<<<<<6";
inline const std::string kTd1Line3 = "ERIKSSON<<ANNA<MARIA<<<<<<<<<<";
// Doc 9303 part 6 (TD2).
inline const std::string kTd2Line1 = "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<";
inline const std::string kTd2Line2 = "D231458907UTO7408122F1204159<<<<<<<6";

#endif  // KORDON_TESTS_MRZ_SPECIMENS_H_
