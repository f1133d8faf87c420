#include "host.h"

#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <filesystem>
#include <fstream>
#include <map>

#include <boost/dll/runtime_symbol_info.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "envelope.h"
#include "remote_instance.h"
#include "runner_link.h"
#include "schema.h"

namespace kordon::host {
namespace {

constexpr auto kSyncTimeout = std::chrono::seconds(10);
constexpr auto kFlushTimeout = std::chrono::seconds(10);

}  // namespace

Host::Host(HostConfig config) : config_(std::move(config)), context_(1) {}

Host::~Host() { (void)Shutdown(); }

void Host::AddStaticPlugin(const std::string& library, kordon_plugin_entry_fn entry) {
  static_plugins_.emplace_back(library, entry);
}

std::string SchemaDirectory(const HostConfig& config) {
  namespace fs = std::filesystem;
  if (!config.schema_dir.empty()) {
    fs::path p(config.schema_dir);
    if (p.is_relative() && !config.directory.empty()) p = fs::path(config.directory) / p;
    return p.lexically_normal().string();
  }
  boost::dll::fs::error_code ec;
  const fs::path exe = boost::dll::program_location(ec);
  if (!ec) {
    const fs::path installed = exe.parent_path() / ".." / "share" / "kordon" / "schemas";
    std::error_code fec;
    if (fs::is_directory(installed, fec)) return installed.lexically_normal().string();
  }
  return KORDON_SOURCE_SCHEMA_DIR;
}

Status Host::Load() {
  reports_.clear();
  if (config_.validate_schemas != SchemaCheck::kOff && !schemas_) {
    auto set = std::make_shared<schema::SchemaSet>();
    std::string error;
    const std::string dir = SchemaDirectory(config_);
    if (!set->Load(dir, &error))
      return Status::InvalidArgument("validate_schemas: the schemas cannot be read: " + error);
    spdlog::info("validate_schemas = {}: {} schemas from {}",
                 SchemaCheckName(config_.validate_schemas), set->size(), dir);
    schemas_ = std::move(set);
  }
  if (config_.require_signed && vendor_keys_.empty()) {
    std::string error;
    auto keys = signing::ReadPublicKeyFiles(config_.vendor_keys, &error, config_.directory);
    if (!keys) return Status::InvalidArgument("[host] vendor_keys: " + error);
    vendor_keys_ = std::move(*keys);
    spdlog::info("require_signed = true: plugin files must be signed by one of {} vendor key(s)",
                 vendor_keys_.size());
  }
  std::map<std::string, std::shared_ptr<PluginLibrary>> by_path;
  Status first_error;
  for (const InstanceConfig& ic : config_.instances) {
    LoadReport r;
    r.instance = ic.name;
    if (!ic.enabled) {
      r.skipped = true;
      r.error = "enabled = false";
      reports_.push_back(std::move(r));
      continue;
    }
    Result<std::shared_ptr<PluginLibrary>> lib = Status::NotFound("unset");
    auto fixed = std::find_if(static_plugins_.begin(), static_plugins_.end(),
                              [&](const auto& p) { return p.first == ic.library; });
    if (fixed != static_plugins_.end()) {
      r.path = "(built in) " + ic.library;
      lib = PluginLibrary::OpenStatic(fixed->second, r.path);
    } else {
      r.path = ResolveLibraryPath(ic.library, config_);
      // An isolated instance's code never runs here, not even its load-time code: a child
      // process describes it (a described library cannot serve an in-process instance).
      const std::string key = (ic.isolated ? "described:" : "loaded:") + r.path;
      if (auto it = by_path.find(key); it != by_path.end()) {
        lib = it->second;
      } else {
        std::optional<signing::Verification> verified;
        if (config_.require_signed) {
          // Hash once through one descriptor, verify, then load only that very file.
          signing::Verification v = signing::VerifyFile(r.path, vendor_keys_);
          if (v.ok()) {
            ++signatures_verified_;
            spdlog::info("[plugin.{}] signature ok: {}", ic.name, v.reason);
            verified = std::move(v);
          } else {
            ++signatures_refused_;
            r.unsigned_refused = true;
            lib = Status::InvalidArgument(fmt::format("signature check failed ({}): {}",
                                                      signing::VerdictName(v.verdict), v.reason));
          }
        }
        if (r.unsigned_refused) {
          // refused above
        } else if (ic.isolated) {
          // The child loads only the verified bytes too (--blake2b), as every runner will.
          lib = DescribeInChild(r.path, RunnerPath(config_.supervision),
                                std::chrono::milliseconds(config_.plugin_call_timeout_ms),
                                verified ? verified->hash_hex : "");
        } else if (verified) {
          lib = PluginLibrary::OpenVerified(r.path, verified->identity, verified->hash_hex);
        } else {
          lib = PluginLibrary::Open(r.path);
        }
        if (lib.ok()) by_path[key] = lib.value();
      }
    }
    if (!lib.ok() && !r.unsigned_refused && config_.require_signed &&
        lib.status().message().find("signature check:") != std::string::npos) {
      ++signatures_refused_;
      r.unsigned_refused = true;
    }
    if (lib.ok()) {
      r.loaded = true;
      r.library = lib.value();
    } else {
      r.error = fmt::format("{}:{}: [plugin.{}] refused: {}", config_.path, ic.line, ic.name,
                            lib.status().message());
      if (config_.on_plugin_error == OnPluginError::kSkip) {
        r.skipped = true;
        spdlog::error("{} (skipped: on_plugin_error = skip)", r.error);
      } else if (first_error.ok()) {
        first_error = lib.status().code() == Status::Code::kVersion ? Status::Version(r.error)
                                                                    : Status::InvalidArgument(r.error);
      }
    }
    reports_.push_back(std::move(r));
  }
  if (config_.require_signed)
    spdlog::info("signatures: {} plugin file(s) verified, {} refused", signatures_verified_,
                 signatures_refused_);
  return first_error;
}

void Host::Announce(const std::string& topic, const nlohmann::json& body) {
  if (Status s = PublishEvent(topic, body.dump()); !s.ok())
    spdlog::warn("could not publish the host event '{}': {}", topic, s.ToString());
}

Status Host::PublishEvent(const std::string& topic, const std::string& body) {
  if (!host_publisher_) return Status::Stopped("the bus is not running");
  Envelope e = NewEnvelope(config_.name);
  return host_publisher_->Send(topic, EncodeEnvelope(e), body);
}

Status Host::Start() {
  bus_ = std::make_unique<Bus>(context_, config_.bus, config_.name);
  if (Status s = bus_->Start(); !s.ok()) return s;
  host_publisher_ = std::make_unique<BusPublisher>(context_, config_.bus);
  spdlog::info("bus: in-process {} / {}; ingress {}; egress {}", kInprocIn, kInprocOut,
               bus_->ingress_endpoint().empty() ? "disabled" : bus_->ingress_endpoint(),
               bus_->egress_endpoint().empty() ? "disabled" : bus_->egress_endpoint());
  if (config_.bus.curve())
    spdlog::info("bus: CURVE on ingress and egress; {} client key(s) allowed, all others "
                 "refused", config_.bus.allowed_keys.size());

  std::map<std::string, const InstanceConfig*> by_name;
  for (const InstanceConfig& ic : config_.instances) by_name[ic.name] = &ic;

  for (const LoadReport& r : reports_) {
    if (!r.loaded) continue;
    std::unique_ptr<HostedInstance> instance;
    const InstanceConfig& ic = *by_name[r.instance];
    if (ic.isolated) {
      Result<std::string> dir = RuntimeDir();
      if (!dir.ok()) {
        (void)Shutdown();
        return dir.status();
      }
      instance = std::make_unique<RemoteInstance>(
          r.library, ic, *bus_, markers_, config_, dir.value(), static_cast<int>(instances_.size()),
          [this](const std::string& topic, const nlohmann::json& body) { Announce(topic, body); });
    } else {
      auto in_process = std::make_unique<PluginInstance>(
          r.library, ic, *bus_, markers_, std::chrono::milliseconds(config_.plugin_call_timeout_ms));
      in_process->SetSchemaCheck(schemas_.get(), config_.validate_schemas);
      instance = std::move(in_process);
    }
    instance->Launch();
    // Subscriptions are live before the plugin runs any code: what earlier instances publish
    // from now on reaches it (held until its start if need be).
    Status s = SyncSubscriptions({instance.get()});
    if (s.ok()) s = instance->Create();
    if (!s.ok()) {
      std::string why = fmt::format("{}:{}: {}", config_.path, by_name[r.instance]->line, s.message());
      instance->Destroy();
      if (config_.on_plugin_error == OnPluginError::kSkip) {
        spdlog::error("{} (skipped: on_plugin_error = skip)", why);
        Announce("plugin.status", nlohmann::json{{"instance", r.instance}, {"state", "failed"}, {"reason", why}});
        continue;
      }
      (void)Shutdown();
      return Status::InvalidArgument(why);
    }
    const PluginDescription& d = instance->library().description();
    spdlog::info("created {} ({} {} by {}, ABI {}) lane '{}' subscribed to [{}]{}", r.instance,
                 d.name, d.version, d.vendor, AbiVersionString(d.abi_version),
                 instance->config().lane, PrefixList(instance->subscriptions()),
                 ic.isolated ? " (isolated: kordon-runner)" : "");
    instances_.push_back(std::move(instance));
  }

  for (size_t i = 0; i < instances_.size();) {
    Status s = instances_[i]->Start();
    if (s.ok()) {
      Announce("plugin.status", nlohmann::json{{"instance", instances_[i]->name()}, {"state", "running"}});
      ++i;
      started_ = i;
      continue;
    }
    if (instances_[i]->stuck()) {
      (void)Shutdown();
      return s;
    }
    if (config_.on_plugin_error == OnPluginError::kSkip) {
      spdlog::error("{} (skipped: on_plugin_error = skip)", s.message());
      Announce("plugin.status", nlohmann::json{{"instance", instances_[i]->name()}, {"state", "failed"}, {"reason", s.message()}});
      instances_[i]->Destroy();
      instances_.erase(instances_.begin() + static_cast<long>(i));
      continue;
    }
    (void)Shutdown();
    return s;
  }
  // Instances whose library was refused (on_plugin_error = skip) are said on the bus too, once
  // the running instances (an audit log among them) can hear it.
  for (const LoadReport& r : reports_)
    if (!r.loaded && !r.error.empty() && r.error != "enabled = false")
      Announce("plugin.status", nlohmann::json{{"instance", r.instance}, {"state", "refused"},
                                               {"reason", r.error},
                                               {"signature", r.unsigned_refused}});
  nlohmann::json names = nlohmann::json::array();
  for (auto& i : instances_) names.push_back(i->name());
  nlohmann::json started{{"host", config_.name}, {"instances", names},
                         {"abi", AbiVersionString(KORDON_ABI_VERSION)},
                         {"require_signed", config_.require_signed}};
  if (!config_.path.empty()) started["config"] = config_.path;
  if (!config_.file_hash.empty()) started["config_blake2b"] = config_.file_hash;
  Announce("host.started", started);
  spdlog::info("host '{}' running with {} plugin instance(s)", config_.name, instances_.size());
  return WriteReadyFile();
}

Result<std::string> Host::RuntimeDir() {
  if (!runtime_dir_.empty()) return runtime_dir_;
  std::string base = config_.supervision.runtime_dir;
  if (base.empty()) {
    const char* xdg = std::getenv("XDG_RUNTIME_DIR");
    base = xdg != nullptr && xdg[0] != '\0' ? xdg : "/tmp";
  }
  // mkdtemp makes it 0700: only this user can reach the runner sockets in it.
  std::string templ = base + "/kordon-" + config_.name.substr(0, 16) + "-XXXXXX";
  for (char& c : templ)
    if (c == ':') c = '_';
  if (mkdtemp(templ.data()) == nullptr)
    return Status::Io(fmt::format("cannot make the runtime directory '{}': {} (set "
                                  "supervision.runtime_dir in [host])",
                                  templ, std::strerror(errno)));
  runtime_dir_ = templ;
  return runtime_dir_;
}

Status Host::SyncSubscriptions(const std::vector<HostedInstance*>& instances) {
  for (HostedInstance* instance : instances) {
    std::string token = fmt::format("sync:{}:{}", instance->name(), ++marker_seq_);
    auto deadline = std::chrono::steady_clock::now() + kSyncTimeout;
    for (;;) {
      Envelope e = NewEnvelope(config_.name);
      if (Status s = host_publisher_->Send("$ctl.marker", EncodeEnvelope(e), token, kSyncTimeout); !s.ok())
        return s;
      auto step = std::chrono::steady_clock::now() + std::chrono::milliseconds(20);
      if (markers_.WaitAll(token, {instance->name()}, std::min(step, deadline))) break;
      if (std::chrono::steady_clock::now() >= deadline)
        return Status::Timeout(fmt::format("instance '{}' did not join the bus within 10 s", instance->name()));
    }
  }
  return Status::Ok();
}

void Host::FlushToInstances(const char* what) {
  if (!host_publisher_) return;
  const std::vector<std::string> running = InstancesToWaitFor(started_);
  if (running.empty()) return;
  const std::string token = fmt::format("flush:{}:{}", what, ++marker_seq_);
  const auto deadline = std::chrono::steady_clock::now() + kFlushTimeout;
  Envelope e = NewEnvelope(config_.name);
  if (Status s = host_publisher_->Send("$ctl.marker", EncodeEnvelope(e), token, kFlushTimeout);
      !s.ok()) {
    spdlog::error("cannot flush the messages from the {}: {}", what, s.message());
    return;
  }
  std::vector<std::string> missing;
  if (!markers_.WaitAll(token, running, deadline, &missing))
    GiveUpWaitingFor(missing, fmt::format("the messages from the {}", what));
}

std::vector<std::string> Host::InstancesToWaitFor(size_t count) const {
  std::vector<std::string> names;
  for (size_t k = 0; k < count; ++k)
    if (!instances_[k]->stuck() && !not_waited_for_.count(instances_[k]->name()))
      names.push_back(instances_[k]->name());
  return names;
}

void Host::GiveUpWaitingFor(const std::vector<std::string>& missing, const std::string& what) {
  spdlog::error("{} had not handled {} within 10 s; the rest of the shutdown does not wait for "
                "{}", fmt::join(missing, ", "), what, missing.size() == 1 ? "it" : "them");
  not_waited_for_.insert(missing.begin(), missing.end());
}

Status Host::WriteReadyFile() {
  if (config_.ready_file.empty()) return Status::Ok();
  nlohmann::json j = {{"pid", static_cast<int64_t>(getpid())},
                      {"name", config_.name},
                      {"ingress", bus_->ingress_endpoint()},
                      {"egress", bus_->egress_endpoint()},
                      {"abi", AbiVersionString(KORDON_ABI_VERSION)}};
  nlohmann::json names = nlohmann::json::array();
  for (auto& i : instances_) names.push_back(i->name());
  j["instances"] = names;
  std::filesystem::path target(config_.ready_file);
  if (target.is_relative() && !config_.directory.empty()) target = std::filesystem::path(config_.directory) / target;
  std::filesystem::path tmp = target;
  tmp += ".tmp";
  {
    std::ofstream out(tmp);
    out << j.dump(2) << "\n";
    if (!out) return Status::Io(fmt::format("cannot write ready_file '{}'", tmp.string()));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, target, ec);
  if (ec) return Status::Io(fmt::format("cannot rename '{}' to '{}': {}", tmp.string(), target.string(), ec.message()));
  return Status::Ok();
}

Status Host::Shutdown() {
  if (shut_down_) return Status::Ok();
  shut_down_ = true;
  Status result;
  bool stuck = false;
  if (host_publisher_) Announce("host.stopping", nlohmann::json{{"host", config_.name}});
  if (bus_ != nullptr) {
    bus_->CloseIngress();
    // What came in from outside before the ingress closed is in the instances' queues now;
    // every instance handles it before the first one stops (a marker behind it, seen by all).
    FlushToInstances("ingress");
  }
  // Stop in reverse order of start; before the next one stops, everything this one published
  // has been handled by every instance still running.
  for (size_t i = started_; i-- > 0;) {
    HostedInstance& inst = *instances_[i];
    spdlog::info("stopping {}", inst.name());
    Status s = inst.Stop();
    if (s.ok()) spdlog::info("{} stopped", inst.name());
    if (!s.ok()) {
      spdlog::error("{}", s.message());
      if (result.ok()) result = s;
      if (inst.stuck()) {
        stuck = true;
        continue;
      }
    }
    std::string token = fmt::format("flush:{}:{}", inst.name(), ++marker_seq_);
    const std::vector<std::string> remaining = InstancesToWaitFor(i);
    if (remaining.empty()) continue;
    auto flush_deadline = std::chrono::steady_clock::now() + kFlushTimeout;
    if (Status m = inst.SendMarker(token, kFlushTimeout); !m.ok()) {
      spdlog::error("cannot flush the messages of '{}': {}", inst.name(), m.message());
      continue;
    }
    std::vector<std::string> missing;
    if (!markers_.WaitAll(token, remaining, flush_deadline, &missing))
      GiveUpWaitingFor(missing, fmt::format("the last messages of '{}'", inst.name()));
  }
  for (size_t i = instances_.size(); i-- > 0;) {
    if (instances_[i]->stuck()) {
      stuck = true;
      continue;
    }
    instances_[i]->Destroy();
  }
  LogStatistics();
  stuck_ = stuck;
  if (stuck) {
    // A thread is inside plugin code that never returned: none of its memory, its library or
    // the ZeroMQ context it uses may be released. Leave them to the process's exit.
    for (auto& i : instances_)
      if (i->stuck()) (void)i.release();
    if (host_publisher_) host_publisher_->Close();
    (void)bus_.release();
    new zmq::context_t(std::move(context_));
    instances_.clear();
    return result.ok() ? Status::Timeout("a plugin instance is stuck") : result;
  }
  instances_.clear();
  if (host_publisher_) host_publisher_->Close();
  if (bus_) bus_->Stop();
  if (!runtime_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(runtime_dir_, ec);
  }
  return result;
}

void Host::LogStatistics() {
  for (const auto& i : instances_) {
    if (!i->stuck()) i->FlushLogs();
    const InstanceStats& s = i->stats();
    spdlog::info("{}: received {}, published {}, handler errors {}, publish failures {}, "
                 "not delivered after stop {}, dropped before start {}, timers {}, requests {} "
                 "(timed out {})",
                 i->name(), s.received.load(), s.published.load(), s.handler_errors.load(),
                 s.publish_failures.load(), s.dropped_after_stop.load(), s.dropped_before_start.load(),
                 s.timers_fired.load(), s.requests.load(), s.request_timeouts.load());
    if (std::string extra = i->ExtraStatistics(); !extra.empty())
      spdlog::info("{}: {}", i->name(), extra);
    else if (s.throttled.load() > 0)
      spdlog::info("{}: throttled {}", i->name(), s.throttled.load());
    if (s.schema_violations.load() > 0)
      spdlog::warn("{}: {} published bodies broke their schema", i->name(),
                   s.schema_violations.load());
  }
  if (bus_) {
    bus_->FlushLogs();
    const BusStats& b = bus_->stats();
    spdlog::info("bus: forwarded {}, external accepted {}, external rejected {}, egress overflow {}, "
                 "backpressure waits {}",
                 b.forwarded.load(), b.external_accepted.load(), b.external_rejected.load(),
                 b.egress_overflow.load(), b.backpressure_waits.load());
    if (config_.bus.curve())
      spdlog::info("bus CURVE: refused clients {} (unknown key {}, no CURVE {}, "
                   "failed handshake {})", b.refused(), b.refused_key.load(), b.refused_mechanism.load(),
                   b.refused_handshake.load());
  }
}

}  // namespace kordon::host
