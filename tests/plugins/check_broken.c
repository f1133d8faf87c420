/*
 * check_broken.c — a plugin that is wrong on purpose, in one of several ways chosen by its
 * `mode` setting, for the tests of `kordon plugin check` (tests/plugins/CMakeLists.txt):
 *   good        behaves: on check.in it publishes check.out {"ok": true}
 *   undeclared  also publishes check.secret, which its descriptor does not declare
 *   crash       dereferences NULL on a body without "probe" (bad input kills it)
 *   leak        keeps a malloc'd copy of every body and never frees it
 *   hang        never returns from stop
 *   invalid     publishes scale.weight.stable with a body that breaks its schema
 */
#include <kordon/kordon.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct broken {
  const kordon_host_api* host;
  kordon_host_context* context;
  char mode[16];
  char* kept; /* leak: overwritten by every message, so each earlier copy is lost */
} broken;

static void publish(broken* self, const char* topic, const char* body) {
  kordon_publish_args args;
  memset(&args, 0, sizeof args);
  args.struct_size = (uint32_t)sizeof args;
  args.topic = topic;
  args.body = body;
  args.body_size = strlen(body);
  (void)self->host->publish(self->context, &args);
}

static kordon_status broken_create(const kordon_instance_info* info, void** out) {
  broken* self = (broken*)calloc(1, sizeof *self);
  const char* mode = info->host->config_get(info->context, "mode");
  if (self == NULL) return KORDON_E_NO_MEMORY;
  self->host = info->host;
  self->context = info->context;
  strncpy(self->mode, mode != NULL ? mode : "good", sizeof self->mode - 1);
  *out = self;
  return KORDON_OK;
}

static kordon_status broken_start(void* instance) {
  (void)instance;
  return KORDON_OK;
}

static kordon_status broken_stop(void* instance) {
  broken* self = (broken*)instance;
  if (strcmp(self->mode, "hang") == 0)
    for (;;) pause();
  return KORDON_OK;
}

/* A real segfault, also in a sanitizer build: UBSan would otherwise stop at the null store
 * first (SIGABRT), and the test sets ASAN_OPTIONS=handle_segv=0 so that ASan lets the signal
 * kill the process as it would without ASan. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((no_sanitize("undefined")))
#endif
static void crash_now(void) {
  volatile int* volatile nothing = NULL;
  *nothing = 1;
}

static kordon_status broken_handle(void* instance, const kordon_message* m) {
  broken* self = (broken*)instance;
  if (strcmp(m->topic, "check.in") != 0) return KORDON_OK;
  if (strcmp(self->mode, "crash") == 0 && strstr(m->body, "\"probe\"") == NULL) crash_now();
  if (strcmp(self->mode, "leak") == 0) {
    self->kept = (char*)malloc(m->body_size + 1);
    if (self->kept != NULL) memcpy(self->kept, m->body, m->body_size + 1);
  }
  if (strcmp(self->mode, "undeclared") == 0) publish(self, "check.secret", "{\"n\":1}");
  if (strcmp(self->mode, "invalid") == 0)
    publish(self, "scale.weight.stable", "{\"scale\":\"s\",\"kg\":\"heavy\"}");
  publish(self, "check.out", "{\"ok\":true}");
  return KORDON_OK;
}

static void broken_destroy(void* instance) { free(instance); }

static const char* const kPublishes[] = {"check.out", "scale.weight.stable", NULL};
static const char* const kSubscribes[] = {"check.in", NULL};
static const char* const kNone[] = {NULL};

static const kordon_plugin_descriptor kDescriptor = {
    .struct_size = sizeof(kordon_plugin_descriptor),
    .abi_version = KORDON_ABI_VERSION,
    .name = "check-broken",
    .kind = KORDON_KIND_OTHER,
    .vendor = "Kordon tests",
    .version = "1.0.0",
    .description = "Wrong on purpose (mode setting), for kordon plugin check's tests",
    .publishes = kPublishes,
    .subscribes = kSubscribes,
    .services = kNone,
    .create = broken_create,
    .start = broken_start,
    .stop = broken_stop,
    .handle_message = broken_handle,
    .destroy = broken_destroy,
};

KORDON_PLUGIN_ENTRY(offer, out_descriptor) {
  return kordon_answer_offer(offer, &kDescriptor, out_descriptor);
}
