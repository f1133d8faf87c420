/*
 * integ_slow.c — a consumer for the integration tests that is slow on purpose, in C99.
 *
 * Behaviour (what tests/integration relies on):
 *  - Subscribes to "test.tick" unless the configuration says otherwise.
 *  - Every message it receives costs `delay_ms` milliseconds (default 0) of handle_message:
 *    a subscriber that cannot keep up, to put the bus under backpressure.
 *  - `stop_status = failed`: stop returns KORDON_E_FAILED (after doing its work), the way a
 *    device driver reports that it could not close its device cleanly.
 *  - `stop_delay_ms`: stop takes that long (at most 60000): a driver stuck closing its device.
 */
#define _POSIX_C_SOURCE 200809L

#include <kordon/kordon.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct slow_instance {
  uint64_t delay_ms;
  uint64_t stop_delay_ms;
  int fail_stop;
} slow_instance;

static void slow_sleep(uint64_t ms) {
  struct timespec ts;
  ts.tv_sec = (time_t)(ms / 1000u);
  ts.tv_nsec = (long)(ms % 1000u) * 1000000L;
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static uint64_t slow_parse(const char* text) {
  uint64_t v = 0;
  if (text == NULL) return 0;
  for (; *text >= '0' && *text <= '9' && v <= 60000u; ++text) v = v * 10u + (uint64_t)(*text - '0');
  return v > 60000u ? 60000u : v;
}

static kordon_status slow_create(const kordon_instance_info* info, void** out_instance) {
  slow_instance* self;
  const char* stop_status;
  if (info == NULL || out_instance == NULL) return KORDON_E_INVALID_ARGUMENT;
  self = (slow_instance*)malloc(sizeof *self);
  if (self == NULL) return KORDON_E_NO_MEMORY;
  self->delay_ms = slow_parse(info->host->config_get(info->context, "delay_ms"));
  self->stop_delay_ms = slow_parse(info->host->config_get(info->context, "stop_delay_ms"));
  stop_status = info->host->config_get(info->context, "stop_status");
  self->fail_stop = stop_status != NULL && strcmp(stop_status, "failed") == 0;
  *out_instance = self;
  return KORDON_OK;
}

static kordon_status slow_start(void* instance) {
  (void)instance;
  return KORDON_OK;
}

static kordon_status slow_stop(void* instance) {
  slow_instance* self = (slow_instance*)instance;
  if (self->stop_delay_ms > 0) slow_sleep(self->stop_delay_ms);
  return self->fail_stop ? KORDON_E_FAILED : KORDON_OK;
}

static kordon_status slow_handle_message(void* instance, const kordon_message* message) {
  slow_instance* self = (slow_instance*)instance;
  (void)message;
  if (self->delay_ms > 0) slow_sleep(self->delay_ms);
  return KORDON_OK;
}

static void slow_destroy(void* instance) { free(instance); }

static const char* const kSlowSubscribes[] = {"test.tick", NULL};

static const kordon_plugin_descriptor kSlowDescriptor = {
    .struct_size = sizeof(kordon_plugin_descriptor),
    .abi_version = KORDON_ABI_VERSION,
    .name = "integ-slow",
    .kind = KORDON_KIND_OTHER,
    .vendor = "Kordon tests",
    .version = "1.0.0",
    .description = "integration-test consumer: slow handle_message, failing stop on request",
    .publishes = NULL,
    .subscribes = kSlowSubscribes,
    .services = NULL,
    .create = slow_create,
    .start = slow_start,
    .stop = slow_stop,
    .handle_message = slow_handle_message,
    .destroy = slow_destroy,
};

KORDON_PLUGIN_ENTRY(offer, out_descriptor) {
  return kordon_answer_offer(offer, &kSlowDescriptor, out_descriptor);
}
