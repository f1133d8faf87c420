// schema.cpp — see schema.h.
#include "schema.h"

#include <dirent.h>

#include <fstream>
#include <regex>
#include <sstream>

namespace kordon::schema {
namespace {

using nlohmann::json;

bool HasType(const json& v, const std::string& t) {
  if (t == "string") return v.is_string();
  if (t == "number") return v.is_number();
  if (t == "integer")
    return v.is_number_integer() ||
           (v.is_number_float() && v.get<double>() == static_cast<double>(
                                                         static_cast<long long>(v.get<double>())));
  if (t == "boolean") return v.is_boolean();
  if (t == "object") return v.is_object();
  if (t == "null") return v.is_null();
  if (t == "array") return v.is_array();
  return false;
}

std::size_t CodePoints(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string Short(const json& v) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  return s.size() > 80 ? s.substr(0, 77) + "..." : s;
}

// The keywords of one schema node, found in one pass over its members (a node has a handful;
// looking each keyword up by name would cost a map search per keyword per value).
struct Keywords {
  const json* ref = nullptr;
  const json* type = nullptr;
  const json* enum_ = nullptr;
  const json* const_ = nullptr;
  const json* all_of = nullptr;
  const json* any_of = nullptr;
  const json* one_of = nullptr;
  const json* minimum = nullptr;
  const json* maximum = nullptr;
  const json* exclusive_minimum = nullptr;
  const json* exclusive_maximum = nullptr;
  const json* min_length = nullptr;
  const json* max_length = nullptr;
  const json* pattern = nullptr;
  const json* items = nullptr;
  const json* min_items = nullptr;
  const json* max_items = nullptr;
  const json* required = nullptr;
  const json* min_properties = nullptr;
  const json* max_properties = nullptr;
  const json* properties = nullptr;
  const json* additional = nullptr;
};

Keywords Collect(const json& s) {
  Keywords k;
  for (auto it = s.begin(); it != s.end(); ++it) {
    const std::string& key = it.key();
    const json* v = &*it;
    switch (key[0]) {
      case '$': if (key == "$ref") k.ref = v; break;
      case 'a':
        if (key == "additionalProperties") k.additional = v;
        else if (key == "allOf") k.all_of = v;
        else if (key == "anyOf") k.any_of = v;
        break;
      case 'c': if (key == "const") k.const_ = v; break;
      case 'e':
        if (key == "enum") k.enum_ = v;
        else if (key == "exclusiveMinimum") k.exclusive_minimum = v;
        else if (key == "exclusiveMaximum") k.exclusive_maximum = v;
        break;
      case 'i': if (key == "items") k.items = v; break;
      case 'm':
        if (key == "maxLength") k.max_length = v;
        else if (key == "minLength") k.min_length = v;
        else if (key == "minimum") k.minimum = v;
        else if (key == "maximum") k.maximum = v;
        else if (key == "minItems") k.min_items = v;
        else if (key == "maxItems") k.max_items = v;
        else if (key == "minProperties") k.min_properties = v;
        else if (key == "maxProperties") k.max_properties = v;
        break;
      case 'o': if (key == "oneOf") k.one_of = v; break;
      case 'p':
        if (key == "properties") k.properties = v;
        else if (key == "pattern") k.pattern = v;
        break;
      case 'r': if (key == "required") k.required = v; break;
      case 't': if (key == "type") k.type = v; break;
      default: break;
    }
  }
  return k;
}

bool Unsigned(const json* v, std::size_t* out) {
  if (v == nullptr || !v->is_number_unsigned()) return false;
  *out = v->get<std::size_t>();
  return true;
}

class Validator {
 public:
  Validator(const json& root, const Options& options) : root_(root), options_(options) {}

  void Check(const json& v, const json& schema, std::vector<std::string>* out, int depth = 0) {
    if (depth > 64) {
      out->push_back(Where() + ": schema nested too deep (a $ref cycle?)");
      return;
    }
    if (schema.is_boolean()) {
      if (!schema.get<bool>()) out->push_back(Where() + ": not allowed here");
      return;
    }
    if (!schema.is_object()) return;
    const Keywords k = Collect(schema);
    if (k.ref != nullptr && k.ref->is_string()) {
      const json* target = Resolve(k.ref->get_ref<const std::string&>());
      if (target == nullptr) out->push_back(Where() + ": unresolvable $ref " + k.ref->dump());
      else Check(v, *target, out, depth + 1);
    }
    if (k.type != nullptr) {
      bool ok = false;
      if (k.type->is_string()) ok = HasType(v, k.type->get_ref<const std::string&>());
      if (k.type->is_array())
        for (const json& one : *k.type)
          ok = ok || (one.is_string() && HasType(v, one.get_ref<const std::string&>()));
      if (!ok) out->push_back(Where() + ": " + Short(v) + " is not of type " + k.type->dump());
    }
    if (k.enum_ != nullptr && k.enum_->is_array()) {
      bool ok = false;
      for (const json& one : *k.enum_) ok = ok || one == v;
      if (!ok) out->push_back(Where() + ": " + Short(v) + " is not one of " + Short(*k.enum_));
    }
    if (k.const_ != nullptr && *k.const_ != v)
      out->push_back(Where() + ": " + Short(v) + " is not " + Short(*k.const_));
    Combined(v, k.all_of, "allOf", out, depth);
    Combined(v, k.any_of, "anyOf", out, depth);
    Combined(v, k.one_of, "oneOf", out, depth);
    if (v.is_number()) Number(v.get<double>(), k, out);
    else if (v.is_string()) String(v.get_ref<const std::string&>(), k, out);
    else if (v.is_array()) Array(v, k, out, depth);
    else if (v.is_object()) Object(v, k, out, depth);
  }

 private:
  // One step of the path to the value being checked, spelt out only for a problem.
  struct Step {
    const std::string* key;  // a member, or nullptr for an array element
    std::size_t index;
  };

  std::string Where() const {
    std::string w = "$";
    for (const Step& s : path_) {
      if (s.key != nullptr) w += "." + *s.key;
      else w += "[" + std::to_string(s.index) + "]";
    }
    return w;
  }

  void Combined(const json& v, const json* list, const char* key,
                std::vector<std::string>* out, int depth) {
    if (list == nullptr || !list->is_array()) return;
    std::size_t passed = 0;
    std::vector<std::string> first_failure;
    for (const json& sub : *list) {
      std::vector<std::string> problems;
      Check(v, sub, &problems, depth + 1);
      if (problems.empty()) ++passed;
      else if (first_failure.empty()) first_failure = std::move(problems);
    }
    const std::string k = key;
    if (k == "allOf" && passed != list->size())
      out->insert(out->end(), first_failure.begin(), first_failure.end());
    if (k == "anyOf" && passed == 0)
      out->push_back(Where() + ": " + Short(v) + " matches none of anyOf");
    if (k == "oneOf" && passed != 1)
      out->push_back(Where() + ": " + Short(v) + " matches " + std::to_string(passed) +
                     " of oneOf's schemas, not exactly one");
  }

  const json* Resolve(const std::string& ref) const {
    if (ref.rfind("#/", 0) != 0) return ref == "#" ? &root_ : nullptr;
    const json* at = &root_;
    std::size_t pos = 2;
    while (pos <= ref.size()) {
      std::size_t end = ref.find('/', pos);
      if (end == std::string::npos) end = ref.size();
      const std::string part = ref.substr(pos, end - pos);
      if (!at->is_object()) return nullptr;
      auto it = at->find(part);
      if (it == at->end()) return nullptr;
      at = &*it;
      pos = end + 1;
    }
    return at;
  }

  void Number(double d, const Keywords& k, std::vector<std::string>* out) const {
    auto bound = [&](const json* b, bool fails_below, bool exclusive, const char* words) {
      if (b == nullptr || !b->is_number()) return;
      const double m = b->get<double>();
      const bool fails = fails_below ? (exclusive ? d <= m : d < m) : (exclusive ? d >= m : d > m);
      if (fails) out->push_back(Where() + ": " + json(d).dump() + " " + words + " " + b->dump());
    };
    bound(k.minimum, true, false, "is below the minimum");
    bound(k.maximum, false, false, "is above the maximum");
    bound(k.exclusive_minimum, true, true, "is not above");
    bound(k.exclusive_maximum, false, true, "is not below");
  }

  void String(const std::string& text, const Keywords& k, std::vector<std::string>* out) const {
    std::size_t limit = 0;
    if (Unsigned(k.min_length, &limit) || Unsigned(k.max_length, &limit)) {
      const std::size_t n = CodePoints(text);
      if (Unsigned(k.min_length, &limit) && n < limit)
        out->push_back(Where() + ": shorter than " + std::to_string(limit) + " characters");
      if (Unsigned(k.max_length, &limit) && n > limit)
        out->push_back(Where() + ": longer than " + std::to_string(limit) + " characters");
    }
    if (k.pattern != nullptr && k.pattern->is_string()) {
      const std::string& pattern = k.pattern->get_ref<const std::string&>();
      // Compiling a std::regex costs far more than matching one: each thread keeps the
      // patterns it has compiled (the schemas hold a few dozen).
      thread_local std::map<std::string, std::regex> compiled;
      auto it = compiled.find(pattern);
      if (it == compiled.end()) it = compiled.emplace(pattern, std::regex(pattern)).first;
      if (!std::regex_search(text, it->second))
        out->push_back(Where() + ": " + Short(text) + " does not match " + pattern);
    }
  }

  void Array(const json& v, const Keywords& k, std::vector<std::string>* out, int depth) {
    std::size_t limit = 0;
    if (Unsigned(k.min_items, &limit) && v.size() < limit)
      out->push_back(Where() + ": fewer than " + std::to_string(limit) + " items");
    if (Unsigned(k.max_items, &limit) && v.size() > limit)
      out->push_back(Where() + ": more than " + std::to_string(limit) + " items");
    if (k.items == nullptr) return;
    for (std::size_t i = 0; i < v.size(); ++i) {
      path_.push_back({nullptr, i});
      Check(v[i], *k.items, out, depth + 1);
      path_.pop_back();
    }
  }

  void Object(const json& v, const Keywords& k, std::vector<std::string>* out, int depth) {
    if (k.required != nullptr && k.required->is_array())
      for (const json& name : *k.required)
        if (name.is_string() && !v.contains(name.get_ref<const std::string&>()))
          out->push_back(Where() + ": the required member " +
                         name.get_ref<const std::string&>() + " is missing");
    std::size_t limit = 0;
    if (Unsigned(k.min_properties, &limit) && v.size() < limit)
      out->push_back(Where() + ": fewer than " + std::to_string(limit) + " members");
    if (Unsigned(k.max_properties, &limit) && v.size() > limit)
      out->push_back(Where() + ": more than " + std::to_string(limit) + " members");
    const bool has_props = k.properties != nullptr && k.properties->is_object();
    for (auto it = v.begin(); it != v.end(); ++it) {
      const std::string& key = it.key();
      const json* sub = nullptr;
      if (has_props) {
        auto p = k.properties->find(key);
        if (p != k.properties->end()) sub = &*p;
      }
      if (sub == nullptr && k.additional != nullptr) {
        if (k.additional->is_boolean() && !k.additional->get<bool>()) {
          out->push_back(Where() + ": the member " + key + " is not in the schema");
          continue;
        }
        sub = k.additional;
      }
      if (sub == nullptr) {
        if (options_.closed_objects)
          out->push_back(Where() + ": the member " + key + " is not in the schema");
        continue;
      }
      path_.push_back({&key, 0});
      Check(*it, *sub, out, depth + 1);
      path_.pop_back();
    }
  }

  const json& root_;
  const Options& options_;
  std::vector<Step> path_;
};

}  // namespace

std::vector<std::string> Problems(const nlohmann::json& value, const nlohmann::json& schema,
                                  const Options& options) {
  std::vector<std::string> out;
  Validator(schema, options).Check(value, schema, &out);
  return out;
}

bool SchemaSet::Load(const std::string& dir, std::string* error) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) {
    *error = dir + ": cannot be read";
    return false;
  }
  static const std::regex kName(R"(^(.+)\.v([0-9]+)\.json$)");
  std::vector<std::string> names;
  while (dirent* e = readdir(d)) names.emplace_back(e->d_name);
  closedir(d);
  for (const std::string& name : names) {
    std::smatch m;
    if (!std::regex_match(name, m, kName)) continue;
    std::ifstream in(dir + "/" + name);
    std::stringstream text;
    text << in.rdbuf();
    json j = json::parse(text.str(), nullptr, false);
    if (!in || j.is_discarded()) {
      *error = dir + "/" + name + ": not a JSON document";
      return false;
    }
    schemas_[{m[1].str(), static_cast<unsigned>(std::stoul(m[2].str()))}] = std::move(j);
  }
  return true;
}

const nlohmann::json* SchemaSet::Find(const std::string& name, unsigned version) const {
  auto it = schemas_.find({name, version});
  return it == schemas_.end() ? nullptr : &it->second;
}

}  // namespace kordon::schema
