// device_plugin.h — the one line that ties a DeviceModel (device_model.h) to a plugin
// instance: the model is named after the instance and publishes device.status through the
// instance's host; a publish that fails is logged as a warning (the status is not worth
// failing the device for). Header-only; needs the SDK's plugin.hpp.
//
// Thread safety: the publisher may run on any thread (Host::Publish and Host::Warn are
// thread-safe). REQUIRES: the plugin outlives the model (it owns it).
#ifndef KORDON_PLUGINS_COMMON_DEVICE_PLUGIN_H_
#define KORDON_PLUGINS_COMMON_DEVICE_PLUGIN_H_

#include <kordon/plugin.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "device_model.h"

namespace kordon::device {

inline std::unique_ptr<DeviceModel> MakeDeviceModel(const kordon::Plugin& plugin,
                                                    std::string kind, std::string link) {
  const kordon::Plugin* p = &plugin;
  return std::make_unique<DeviceModel>(
      plugin.host().instance_name(), std::move(kind), std::move(link),
      [p](std::string_view topic, const std::string& body) {
        kordon::Status s = p->host().Publish(topic, body);
        if (!s.ok()) p->host().Warn("device.status not published: " + s.ToString());
      });
}

}  // namespace kordon::device

#endif  // KORDON_PLUGINS_COMMON_DEVICE_PLUGIN_H_
