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

class Validator {
 public:
  Validator(const json& root, const Options& options) : root_(root), options_(options) {}

  void Check(const json& v, const json& schema, const std::string& where,
             std::vector<std::string>* out, int depth = 0) {
    if (depth > 64) {
      out->push_back(where + ": schema nested too deep (a $ref cycle?)");
      return;
    }
    if (schema.is_boolean()) {
      if (!schema.get<bool>()) out->push_back(where + ": not allowed here");
      return;
    }
    if (!schema.is_object()) return;
    if (auto r = schema.find("$ref"); r != schema.end() && r->is_string()) {
      const json* target = Resolve(r->get<std::string>());
      if (target == nullptr) out->push_back(where + ": unresolvable $ref " + r->dump());
      else Check(v, *target, where, out, depth + 1);
    }
    if (auto t = schema.find("type"); t != schema.end()) {
      bool ok = false;
      if (t->is_string()) ok = HasType(v, t->get<std::string>());
      if (t->is_array())
        for (const json& one : *t) ok = ok || (one.is_string() && HasType(v, one));
      if (!ok) out->push_back(where + ": " + Short(v) + " is not of type " + t->dump());
    }
    if (auto e = schema.find("enum"); e != schema.end() && e->is_array()) {
      bool ok = false;
      for (const json& one : *e) ok = ok || one == v;
      if (!ok) out->push_back(where + ": " + Short(v) + " is not one of " + Short(*e));
    }
    if (auto c = schema.find("const"); c != schema.end() && *c != v)
      out->push_back(where + ": " + Short(v) + " is not " + Short(*c));
    for (const char* key : {"allOf", "anyOf", "oneOf"}) {
      auto list = schema.find(key);
      if (list == schema.end() || !list->is_array()) continue;
      std::size_t passed = 0;
      std::vector<std::string> first_failure;
      for (const json& sub : *list) {
        std::vector<std::string> problems;
        Check(v, sub, where, &problems, depth + 1);
        if (problems.empty()) ++passed;
        else if (first_failure.empty()) first_failure = std::move(problems);
      }
      const std::string k = key;
      if (k == "allOf" && passed != list->size())
        out->insert(out->end(), first_failure.begin(), first_failure.end());
      if (k == "anyOf" && passed == 0)
        out->push_back(where + ": " + Short(v) + " matches none of anyOf");
      if (k == "oneOf" && passed != 1)
        out->push_back(where + ": " + Short(v) + " matches " + std::to_string(passed) +
                       " of oneOf's schemas, not exactly one");
    }
    if (v.is_number()) Number(v.get<double>(), schema, where, out);
    if (v.is_string()) String(v.get<std::string>(), schema, where, out);
    if (v.is_array()) Array(v, schema, where, out, depth);
    if (v.is_object()) Object(v, schema, where, out, depth);
  }

 private:
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

  static void Number(double d, const json& s, const std::string& where,
                     std::vector<std::string>* out) {
    auto bound = [&](const char* key, auto fails, const char* words) {
      auto b = s.find(key);
      if (b != s.end() && b->is_number() && fails(d, b->get<double>()))
        out->push_back(where + ": " + json(d).dump() + " " + words + " " + b->dump());
    };
    bound("minimum", [](double x, double m) { return x < m; }, "is below the minimum");
    bound("maximum", [](double x, double m) { return x > m; }, "is above the maximum");
    bound("exclusiveMinimum", [](double x, double m) { return x <= m; }, "is not above");
    bound("exclusiveMaximum", [](double x, double m) { return x >= m; }, "is not below");
  }

  void String(const std::string& text, const json& s, const std::string& where,
              std::vector<std::string>* out) {
    const std::size_t n = CodePoints(text);
    if (auto m = s.find("minLength"); m != s.end() && m->is_number_unsigned() &&
                                      n < m->get<std::size_t>())
      out->push_back(where + ": shorter than " + m->dump() + " characters");
    if (auto m = s.find("maxLength"); m != s.end() && m->is_number_unsigned() &&
                                      n > m->get<std::size_t>())
      out->push_back(where + ": longer than " + m->dump() + " characters");
    if (auto p = s.find("pattern"); p != s.end() && p->is_string()) {
      const std::string& pattern = p->get_ref<const std::string&>();
      auto it = patterns_.find(pattern);
      if (it == patterns_.end()) it = patterns_.emplace(pattern, std::regex(pattern)).first;
      if (!std::regex_search(text, it->second))
        out->push_back(where + ": " + Short(text) + " does not match " + pattern);
    }
  }

  void Array(const json& v, const json& s, const std::string& where,
             std::vector<std::string>* out, int depth) {
    if (auto m = s.find("minItems"); m != s.end() && m->is_number_unsigned() &&
                                     v.size() < m->get<std::size_t>())
      out->push_back(where + ": fewer than " + m->dump() + " items");
    if (auto m = s.find("maxItems"); m != s.end() && m->is_number_unsigned() &&
                                     v.size() > m->get<std::size_t>())
      out->push_back(where + ": more than " + m->dump() + " items");
    if (auto items = s.find("items"); items != s.end())
      for (std::size_t i = 0; i < v.size(); ++i)
        Check(v[i], *items, where + "[" + std::to_string(i) + "]", out, depth + 1);
  }

  void Object(const json& v, const json& s, const std::string& where,
              std::vector<std::string>* out, int depth) {
    if (auto r = s.find("required"); r != s.end() && r->is_array())
      for (const json& name : *r)
        if (name.is_string() && !v.contains(name.get<std::string>()))
          out->push_back(where + ": the required member " + name.get<std::string>() +
                         " is missing");
    if (auto m = s.find("minProperties"); m != s.end() && m->is_number_unsigned() &&
                                          v.size() < m->get<std::size_t>())
      out->push_back(where + ": fewer than " + m->dump() + " members");
    if (auto m = s.find("maxProperties"); m != s.end() && m->is_number_unsigned() &&
                                          v.size() > m->get<std::size_t>())
      out->push_back(where + ": more than " + m->dump() + " members");
    const auto props = s.find("properties");
    const auto extra = s.find("additionalProperties");
    for (const auto& [key, value] : v.items()) {
      if (props != s.end() && props->is_object() && props->contains(key)) {
        Check(value, (*props)[key], where + "." + key, out, depth + 1);
      } else if (extra != s.end()) {
        if (extra->is_boolean() && !extra->get<bool>())
          out->push_back(where + ": the member " + key + " is not in the schema");
        else
          Check(value, *extra, where + "." + key, out, depth + 1);
      } else if (options_.closed_objects) {
        out->push_back(where + ": the member " + key + " is not in the schema");
      }
    }
  }

  const json& root_;
  const Options& options_;
  std::map<std::string, std::regex> patterns_;
};

}  // namespace

std::vector<std::string> Problems(const nlohmann::json& value, const nlohmann::json& schema,
                                  const Options& options) {
  std::vector<std::string> out;
  Validator(schema, options).Check(value, schema, "$", &out);
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
