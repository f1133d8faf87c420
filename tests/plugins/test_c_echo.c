/*
 * test_c_echo.c — a test plugin in strict C99, built with -std=c99 -Wpedantic -Werror to
 * prove that kordon.h is C and that a plugin needs nothing but it.
 *
 * Behaviour (what the host's tests rely on):
 *  - "test.ping" -> publishes the same body on `pong_topic` (default "test.pong") with the
 *    ping's crossing id and the instance's lane.
 *  - A request to service "echo" (any message with a non-empty reply_to) is answered with
 *    its own body and KORDON_OK; a body containing "fail" (quoted) gets KORDON_E_FAILED and
 *    {"error":"asked to fail"}.
 *  - `tick_ms`: start() starts a timer that publishes "test.tick" {"n":<count>} every tick_ms.
 *  - `fail_create=1`: create logs an error and returns KORDON_E_FAILED.
 *  - `request_service`: a "test.ping" whose body contains "ask" (quoted) is also sent as a
 *    request to that service (timeout `request_timeout_ms`, default 1000); the outcome is
 *    published as "test.reply" {"status":"<KORDON_...>","body":<reply body or null>}.
 */
#include <kordon/kordon.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* True when the struct at p, whose struct_size says how much of it the other side filled,
 * holds field. Read no field for which this is false. */
#define ECHO_HAS_FIELD(p, type, field) \
  ((p)->struct_size >= offsetof(type, field) + sizeof(((const type*)0)->field))

#define ECHO_DEFAULT_REQUEST_TIMEOUT_MS 1000u

typedef struct echo_instance {
  const kordon_host_api* host;
  kordon_host_context* context;
  const char* pong_topic;      /* owned by the host; valid until destroy returns */
  const char* request_service; /* NULL: never sends requests */
  uint32_t request_timeout_ms;
  uint64_t tick_ms; /* 0: no timer */
  int timer_running;
  uint64_t timer_id; /* valid while timer_running */
  uint64_t ticks;
} echo_instance;

static void echo_log(const echo_instance* self, kordon_log_level level, const char* message) {
  self->host->log(self->context, level, message);
}

/* Parses a non-empty string of decimal digits no greater than max. Returns 1 on success. */
static int echo_parse_uint(const char* text, uint64_t max, uint64_t* out) {
  uint64_t value = 0;
  const char* p = text;
  if (*p == '\0') return 0;
  for (; *p != '\0'; ++p) {
    unsigned digit;
    if (*p < '0' || *p > '9') return 0;
    digit = (unsigned)(*p - '0');
    if (value > (max - digit) / 10u) return 0;
    value = value * 10u + digit;
  }
  *out = value;
  return 1;
}

/* Whether needle occurs in the first size bytes of haystack (which need not be terminated). */
static int echo_contains(const char* haystack, size_t size, const char* needle) {
  size_t needle_size = strlen(needle);
  size_t i;
  if (needle_size > size) return 0;
  for (i = 0; i + needle_size <= size; ++i) {
    if (memcmp(haystack + i, needle, needle_size) == 0) return 1;
  }
  return 0;
}

static kordon_status echo_publish(echo_instance* self, const char* topic, const char* body,
                                  size_t body_size, const char* crossing_id) {
  kordon_publish_args args;
  kordon_status rc;
  memset(&args, 0, sizeof args);
  args.struct_size = (uint32_t)sizeof args;
  args.topic = topic;
  args.body = body;
  args.body_size = body_size;
  args.lane = NULL; /* the instance's lane */
  args.crossing_id = crossing_id;
  args.schema = NULL;
  args.schema_version = 0;
  rc = self->host->publish(self->context, &args);
  if (rc != KORDON_OK) {
    char line[256];
    snprintf(line, sizeof line, "publish %s failed: %s", topic, kordon_status_name(rc));
    echo_log(self, KORDON_LOG_WARN, line);
  }
  return rc;
}

/* Reads an optional unsigned setting. Returns 1 and leaves *out alone when the key is not
 * set; returns 0 (after logging) when it is set but not a number in [1, max]. */
static int echo_config_uint(const kordon_instance_info* info, const char* key, uint64_t max,
                            uint64_t* out) {
  const char* text = info->host->config_get(info->context, key);
  uint64_t value = 0;
  if (text == NULL) return 1;
  if (!echo_parse_uint(text, max, &value) || value == 0) {
    char line[256];
    snprintf(line, sizeof line, "setting '%s' must be a positive integer, got '%.64s'", key, text);
    info->host->log(info->context, KORDON_LOG_ERROR, line);
    return 0;
  }
  *out = value;
  return 1;
}

static kordon_status echo_create(const kordon_instance_info* info, void** out_instance) {
  const kordon_host_api* host;
  const char* fail;
  const char* pong_topic;
  const char* service;
  uint64_t tick_ms = 0;
  uint64_t timeout_ms = ECHO_DEFAULT_REQUEST_TIMEOUT_MS;
  echo_instance* self;

  if (info == NULL || out_instance == NULL || !ECHO_HAS_FIELD(info, kordon_instance_info, context))
    return KORDON_E_INVALID_ARGUMENT;
  host = info->host;
  if (host == NULL || !ECHO_HAS_FIELD(host, kordon_host_api, reply)) return KORDON_E_VERSION;

  fail = host->config_get(info->context, "fail_create");
  if (fail != NULL && strcmp(fail, "1") == 0) {
    host->log(info->context, KORDON_LOG_ERROR, "fail_create=1: refusing to create the instance");
    return KORDON_E_FAILED;
  }
  if (!echo_config_uint(info, "tick_ms", UINT64_MAX, &tick_ms) ||
      !echo_config_uint(info, "request_timeout_ms", UINT32_MAX, &timeout_ms))
    return KORDON_E_INVALID_ARGUMENT;
  pong_topic = host->config_get(info->context, "pong_topic");
  if (pong_topic == NULL || pong_topic[0] == '\0') pong_topic = "test.pong";
  service = host->config_get(info->context, "request_service");
  if (service != NULL && service[0] == '\0') service = NULL;

  self = (echo_instance*)malloc(sizeof *self);
  if (self == NULL) return KORDON_E_NO_MEMORY;
  memset(self, 0, sizeof *self);
  self->host = host;
  self->context = info->context;
  self->pong_topic = pong_topic;
  self->request_service = service;
  self->request_timeout_ms = (uint32_t)timeout_ms;
  self->tick_ms = tick_ms;
  *out_instance = self;
  return KORDON_OK;
}

static void echo_tick(void* instance, uint64_t timer_id, void* user_data) {
  echo_instance* self = (echo_instance*)user_data;
  char body[64];
  int size;
  (void)instance;
  (void)timer_id;
  ++self->ticks;
  size = snprintf(body, sizeof body, "{\"n\":%" PRIu64 "}", self->ticks);
  (void)echo_publish(self, "test.tick", body, (size_t)size, NULL);
}

static kordon_status echo_start(void* instance) {
  echo_instance* self = (echo_instance*)instance;
  kordon_status rc;
  if (self->tick_ms == 0 || self->timer_running) return KORDON_OK;
  rc = self->host->timer_start(self->context, self->tick_ms, self->tick_ms, echo_tick, self,
                               &self->timer_id);
  if (rc != KORDON_OK) {
    char line[128];
    snprintf(line, sizeof line, "timer_start failed: %s", kordon_status_name(rc));
    echo_log(self, KORDON_LOG_ERROR, line);
    return rc;
  }
  self->timer_running = 1;
  return KORDON_OK;
}

static kordon_status echo_stop(void* instance) {
  echo_instance* self = (echo_instance*)instance;
  if (self->timer_running) {
    (void)self->host->timer_cancel(self->context, self->timer_id);
    self->timer_running = 0;
  }
  return KORDON_OK;
}

/* Publishes "test.reply" {"status":"<name>","body":<reply body or null>}. */
static void echo_on_reply(void* instance, kordon_status status, const kordon_message* reply,
                          void* user_data) {
  static const char kHead[] = "{\"status\":\"";
  static const char kMiddle[] = "\",\"body\":";
  static const char kNull[] = "null";
  echo_instance* self = (echo_instance*)user_data;
  const char* name = kordon_status_name(status);
  const char* reply_body = kNull;
  size_t reply_size = sizeof kNull - 1;
  size_t name_size = strlen(name);
  size_t size;
  char* body;
  char* p;
  (void)instance;

  if (reply != NULL && ECHO_HAS_FIELD(reply, kordon_message, body_size) && reply->body != NULL &&
      reply->body_size > 0) {
    reply_body = reply->body;
    reply_size = reply->body_size;
  }
  size = (sizeof kHead - 1) + name_size + (sizeof kMiddle - 1) + reply_size + 1;
  body = (char*)malloc(size + 1);
  if (body == NULL) {
    echo_log(self, KORDON_LOG_ERROR, "no memory for the test.reply body");
    return;
  }
  p = body;
  memcpy(p, kHead, sizeof kHead - 1);
  p += sizeof kHead - 1;
  memcpy(p, name, name_size);
  p += name_size;
  memcpy(p, kMiddle, sizeof kMiddle - 1);
  p += sizeof kMiddle - 1;
  memcpy(p, reply_body, reply_size);
  p += reply_size;
  *p++ = '}';
  *p = '\0';
  (void)echo_publish(self, "test.reply", body, size, NULL);
  free(body);
}

static kordon_status echo_handle_message(void* instance, const kordon_message* message) {
  static const char kFailBody[] = "{\"error\":\"asked to fail\"}";
  echo_instance* self = (echo_instance*)instance;
  const char* crossing_id;
  const char* reply_to;
  kordon_status rc = KORDON_OK;

  if (message == NULL || !ECHO_HAS_FIELD(message, kordon_message, body_size))
    return KORDON_E_INVALID_ARGUMENT;
  crossing_id = ECHO_HAS_FIELD(message, kordon_message, crossing_id) ? message->crossing_id : "";
  reply_to = ECHO_HAS_FIELD(message, kordon_message, reply_to) ? message->reply_to : "";

  if (strcmp(message->topic, "test.ping") == 0) {
    rc = echo_publish(self, self->pong_topic, message->body, message->body_size, crossing_id);
    if (self->request_service != NULL &&
        echo_contains(message->body, message->body_size, "\"ask\"")) {
      kordon_status asked = self->host->request(self->context, self->request_service,
                                                message->body, message->body_size,
                                                self->request_timeout_ms, echo_on_reply, self);
      if (asked != KORDON_OK) {
        char line[256];
        snprintf(line, sizeof line, "request to '%.64s' failed: %s", self->request_service,
                 kordon_status_name(asked));
        echo_log(self, KORDON_LOG_WARN, line);
        if (rc == KORDON_OK) rc = asked;
      }
    }
  }

  if (reply_to != NULL && reply_to[0] != '\0') {
    kordon_status replied;
    if (echo_contains(message->body, message->body_size, "\"fail\"")) {
      replied = self->host->reply(self->context, message, KORDON_E_FAILED, kFailBody,
                                  sizeof kFailBody - 1);
    } else {
      replied = self->host->reply(self->context, message, KORDON_OK, message->body,
                                  message->body_size);
    }
    if (replied != KORDON_OK && rc == KORDON_OK) rc = replied;
  }
  return rc;
}

static void echo_destroy(void* instance) {
  echo_instance* self = (echo_instance*)instance;
  if (self == NULL) return;
  if (self->timer_running) (void)self->host->timer_cancel(self->context, self->timer_id);
  free(self);
}

static const char* const kEchoPublishes[] = {"test.pong", "test.tick", "test.reply", NULL};
static const char* const kEchoSubscribes[] = {"test.ping", NULL};
static const char* const kEchoServices[] = {"echo", NULL};

static const kordon_plugin_descriptor kEchoDescriptor = {
    .struct_size = sizeof(kordon_plugin_descriptor),
    .abi_version = KORDON_ABI_VERSION,
    .name = "test-c-echo",
    .kind = KORDON_KIND_OTHER,
    .vendor = "Kordon tests",
    .version = "1.0.0",
    .description = "C99 test plugin: echoes test.ping, answers the echo service, ticks, asks",
    .publishes = kEchoPublishes,
    .subscribes = kEchoSubscribes,
    .services = kEchoServices,
    .create = echo_create,
    .start = echo_start,
    .stop = echo_stop,
    .handle_message = echo_handle_message,
    .destroy = echo_destroy,
};

KORDON_PLUGIN_ENTRY(offer, out_descriptor) {
  return kordon_answer_offer(offer, &kEchoDescriptor, out_descriptor);
}
