/*
 * acme_scale.c — an example vendor plugin in plain C99: the "ACME PS-60" platform scale.
 *
 * A real plugin would read the scale's serial protocol; this one simulates the platform so
 * that the example runs anywhere: every `interval_ms` it takes a reading of a vehicle that
 * drives on (the weight ramps up to `load_kg`), stands still, and drives off. It publishes
 *   scale.weight.live    every reading (sdk/schemas/scale.weight.live.v1.json)
 *   scale.weight.stable  once per vehicle, when `stable_readings` readings agree within 20 kg
 *                        (sdk/schemas/scale.weight.stable.v1.json)
 * and obeys scale.command {"scale": <name>, "command": "zero"} by zeroing its display.
 *
 * Settings: scale (default: the instance name), interval_ms (200), load_kg (24000),
 * stable_readings (5).
 *
 * Only kordon.h is needed: the host's services come in kordon_instance_info, every call into
 * the plugin for one instance is made on that instance's thread, and every struct starts with
 * its size so that a newer host and this plugin read each other safely.
 */
#include <kordon/kordon.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct acme_scale {
  const kordon_host_api* host;
  kordon_host_context* context;
  char name[65];
  uint64_t interval_ms;
  double load_kg;
  uint64_t stable_readings;
  uint64_t timer_id;
  int timer_running;
  /* The simulated platform. */
  uint64_t tick;        /* readings taken */
  double zero_offset;   /* subtracted from every reading ("zero" sets it) */
  double previous_kg;
  uint64_t same;        /* readings within 20 kg of the previous one */
  int reported;         /* this vehicle's stable weight was published */
  uint64_t vehicle_seq;
  double min_kg, max_kg;
} acme_scale;

static void acme_log(const acme_scale* self, kordon_log_level level, const char* text) {
  self->host->log(self->context, level, text);
}

/* A positive integer setting in [1, max]; 1 when absent (value unchanged), 0 when invalid. */
static int acme_setting(const kordon_instance_info* info, const char* key, uint64_t max,
                        uint64_t* value) {
  const char* text = info->host->config_get(info->context, key);
  char* end = NULL;
  unsigned long long v;
  if (text == NULL) return 1;
  v = strtoull(text, &end, 10);
  if (end == text || *end != '\0' || v == 0 || v > max) {
    char line[200];
    snprintf(line, sizeof line, "setting '%s' must be an integer 1..%" PRIu64 ", got '%.40s'",
             key, max, text);
    info->host->log(info->context, KORDON_LOG_ERROR, line);
    return 0;
  }
  *value = (uint64_t)v;
  return 1;
}

static kordon_status acme_publish(acme_scale* self, const char* topic, const char* body) {
  kordon_publish_args args;
  kordon_status rc;
  memset(&args, 0, sizeof args);
  args.struct_size = (uint32_t)sizeof args;
  args.topic = topic;
  args.body = body;
  args.body_size = strlen(body);
  rc = self->host->publish(self->context, &args);
  if (rc != KORDON_OK) {
    char line[160];
    snprintf(line, sizeof line, "publish %s failed: %s", topic, kordon_status_name(rc));
    acme_log(self, KORDON_LOG_WARN, line);
  }
  return rc;
}

/* The simulated platform: 40 readings per vehicle — 10 driving on, 20 standing, 10 off. */
static double acme_platform_kg(const acme_scale* self) {
  const uint64_t phase = self->tick % 40;
  if (phase < 10) return self->load_kg * (double)phase / 10.0;
  if (phase < 30) return self->load_kg + (double)((self->tick * 7) % 3) * 10.0;  /* jitter */
  return self->load_kg * (double)(40 - phase) / 10.0;
}

static void acme_reading(void* instance, uint64_t timer_id, void* user_data) {
  acme_scale* self = (acme_scale*)user_data;
  char body[512];
  double kg;
  int moving;
  (void)instance;
  (void)timer_id;
  ++self->tick;
  kg = acme_platform_kg(self) - self->zero_offset;
  moving = kg - self->previous_kg > 20.0 || self->previous_kg - kg > 20.0;
  if (moving || self->same == 0) {
    self->same = 1;
    self->min_kg = self->max_kg = kg;
  } else {
    ++self->same;
    if (kg < self->min_kg) self->min_kg = kg;
    if (kg > self->max_kg) self->max_kg = kg;
  }
  if (kg < 500.0) self->reported = 0; /* the platform is empty: the next vehicle may come */
  self->previous_kg = kg;
  /* A live reading is never final ("stable": false, always): only scale.weight.stable is. */
  snprintf(body, sizeof body,
           "{\"scale\":\"%s\",\"kg\":%.0f,\"raw\":{\"value\":\"%.0f\",\"unit\":\"kg\"},"
           "\"stable\":false,\"motion\":%s,\"net\":false,\"tare_kg\":null,\"status\":\"%s\","
           "\"frame\":\"PS60 %.0f kg\"}",
           self->name, kg, kg, moving ? "true" : "false", moving ? "motion" : "ok", kg);
  (void)acme_publish(self, "scale.weight.live", body);

  if (!self->reported && kg >= 500.0 && self->same >= self->stable_readings) {
    self->reported = 1;
    ++self->vehicle_seq;
    snprintf(body, sizeof body,
             "{\"scale\":\"%s\",\"kg\":%.0f,\"tare_kg\":0,\"net\":false,\"window_ms\":%" PRIu64
             ",\"readings\":%" PRIu64 ",\"min_kg\":%.0f,\"max_kg\":%.0f,"
             "\"raw\":{\"value\":\"%.0f\",\"unit\":\"kg\"},\"frame\":\"PS60 %.0f kg\","
             "\"vehicle_seq\":%" PRIu64 "}",
             self->name, kg, self->same * self->interval_ms, self->same, self->min_kg,
             self->max_kg, kg, kg, self->vehicle_seq);
    (void)acme_publish(self, "scale.weight.stable", body);
  }
}

static kordon_status acme_create(const kordon_instance_info* info, void** out_instance) {
  acme_scale* self;
  const char* name;
  uint64_t load = 24000;
  if (info == NULL || out_instance == NULL ||
      info->struct_size < offsetof(kordon_instance_info, context) + sizeof info->context)
    return KORDON_E_INVALID_ARGUMENT;
  self = (acme_scale*)calloc(1, sizeof *self);
  if (self == NULL) return KORDON_E_NO_MEMORY;
  self->host = info->host;
  self->context = info->context;
  self->interval_ms = 200;
  self->stable_readings = 5;
  name = info->host->config_get(info->context, "scale");
  if (name == NULL || name[0] == '\0') name = info->instance_name;
  snprintf(self->name, sizeof self->name, "%s", name);
  if (strpbrk(self->name, "\"\\") != NULL) {
    info->host->log(info->context, KORDON_LOG_ERROR, "setting 'scale' must not contain \" or \\");
    free(self);
    return KORDON_E_INVALID_ARGUMENT;
  }
  if (!acme_setting(info, "interval_ms", 60000, &self->interval_ms) ||
      !acme_setting(info, "load_kg", 200000, &load) ||
      !acme_setting(info, "stable_readings", 100, &self->stable_readings)) {
    free(self);
    return KORDON_E_INVALID_ARGUMENT;
  }
  self->load_kg = (double)load;
  *out_instance = self;
  return KORDON_OK;
}

static kordon_status acme_start(void* instance) {
  acme_scale* self = (acme_scale*)instance;
  kordon_status rc = self->host->timer_start(self->context, self->interval_ms, self->interval_ms,
                                             acme_reading, self, &self->timer_id);
  if (rc != KORDON_OK) return rc;
  self->timer_running = 1;
  acme_log(self, KORDON_LOG_INFO, "ACME PS-60 simulated platform started");
  return KORDON_OK;
}

static kordon_status acme_stop(void* instance) {
  acme_scale* self = (acme_scale*)instance;
  if (self->timer_running) (void)self->host->timer_cancel(self->context, self->timer_id);
  self->timer_running = 0;
  return KORDON_OK;
}

/* scale.command {"scale": "<name>", "command": "zero"}: a tiny parser is enough for a body
 * whose schema the host documents; anything else is refused with a log line, not a crash. */
static kordon_status acme_handle_message(void* instance, const kordon_message* m) {
  acme_scale* self = (acme_scale*)instance;
  char wanted[96];
  if (strcmp(m->topic, "scale.command") != 0) return KORDON_OK;
  snprintf(wanted, sizeof wanted, "\"scale\":\"%s\"", self->name);
  if (m->body_size > 4096 || strstr(m->body, wanted) == NULL) return KORDON_OK; /* not ours */
  if (strstr(m->body, "\"command\":\"zero\"") != NULL) {
    self->zero_offset += self->previous_kg;
    acme_log(self, KORDON_LOG_INFO, "zeroed");
    return KORDON_OK;
  }
  acme_log(self, KORDON_LOG_WARN, "scale.command: only \"zero\" is supported by the PS-60");
  return KORDON_E_INVALID_ARGUMENT;
}

static void acme_destroy(void* instance) { free(instance); }

static const char* const kPublishes[] = {"scale.weight.live", "scale.weight.stable", NULL};
static const char* const kSubscribes[] = {"scale.command", NULL};
static const char* const kServices[] = {NULL};

static const kordon_plugin_descriptor kDescriptor = {
    .struct_size = sizeof(kordon_plugin_descriptor),
    .abi_version = KORDON_ABI_VERSION,
    .name = "acme-scale",
    .kind = KORDON_KIND_SCALE,
    .vendor = "ACME Weighing (example)",
    .version = "1.0.0",
    .description = "ACME PS-60 platform scale (simulated): live and stable weights",
    .publishes = kPublishes,
    .subscribes = kSubscribes,
    .services = kServices,
    .create = acme_create,
    .start = acme_start,
    .stop = acme_stop,
    .handle_message = acme_handle_message,
    .destroy = acme_destroy,
};

KORDON_PLUGIN_ENTRY(offer, out_descriptor) {
  return kordon_answer_offer(offer, &kDescriptor, out_descriptor);
}
