/*
 * integ_fault.c — a plugin that misbehaves on purpose, for the fault tests of process
 * isolation (tests/integration/fault_test.cpp). Strict C99 plus POSIX.
 *
 * Behaviour (what the fault tests rely on):
 *  - Subscribes to "test.tick" unless the configuration says otherwise; counts what arrives.
 *  - `fault` says how it misbehaves once it has received `after` messages (default 10) in
 *    this process:
 *      none      behaves (the default);
 *      segfault  writes through a null pointer;
 *      abort     calls abort();
 *      hang      never returns from handle_message;
 *      leak      allocates and touches `leak_kb` KiB (default 4096) per message, never freed;
 *      flood     publishes "test.flood" {"n":N} `flood_batch` times (default 2000) per
 *                message from then on, ignoring KORDON_E_BUSY;
 *      slow      takes `slow_ms` (default 20) over each message: alive, answering its
 *                heartbeats, but falling ever further behind a steady flow.
 */
#define _POSIX_C_SOURCE 200809L

#include <kordon/kordon.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef enum fault_kind {
  FAULT_NONE, FAULT_SEGFAULT, FAULT_ABORT, FAULT_HANG, FAULT_LEAK, FAULT_FLOOD, FAULT_SLOW
} fault_kind;

typedef struct fault_instance {
  const kordon_host_api* host;
  kordon_host_context* context;
  fault_kind kind;
  uint64_t after;
  uint64_t leak_kb;
  uint64_t flood_batch;
  uint64_t slow_ms;
  uint64_t received;
  uint64_t flooded;
} fault_instance;

static uint64_t fault_parse(const char* text, uint64_t fallback) {
  uint64_t v = 0;
  if (text == NULL || *text == '\0') return fallback;
  for (; *text >= '0' && *text <= '9' && v <= 100000000u; ++text)
    v = v * 10u + (uint64_t)(*text - '0');
  return v;
}

static kordon_status fault_create(const kordon_instance_info* info, void** out_instance) {
  fault_instance* self;
  const char* kind;
  if (info == NULL || out_instance == NULL) return KORDON_E_INVALID_ARGUMENT;
  self = (fault_instance*)calloc(1, sizeof *self);
  if (self == NULL) return KORDON_E_NO_MEMORY;
  self->host = info->host;
  self->context = info->context;
  kind = info->host->config_get(info->context, "fault");
  self->kind = FAULT_NONE;
  if (kind != NULL) {
    if (strcmp(kind, "segfault") == 0) self->kind = FAULT_SEGFAULT;
    else if (strcmp(kind, "abort") == 0) self->kind = FAULT_ABORT;
    else if (strcmp(kind, "hang") == 0) self->kind = FAULT_HANG;
    else if (strcmp(kind, "leak") == 0) self->kind = FAULT_LEAK;
    else if (strcmp(kind, "flood") == 0) self->kind = FAULT_FLOOD;
    else if (strcmp(kind, "slow") == 0) self->kind = FAULT_SLOW;
    else if (strcmp(kind, "none") != 0) {
      info->host->log(info->context, KORDON_LOG_ERROR, "fault: unknown 'fault' setting");
      free(self);
      return KORDON_E_INVALID_ARGUMENT;
    }
  }
  self->after = fault_parse(info->host->config_get(info->context, "after"), 10);
  self->leak_kb = fault_parse(info->host->config_get(info->context, "leak_kb"), 4096);
  self->flood_batch = fault_parse(info->host->config_get(info->context, "flood_batch"), 2000);
  self->slow_ms = fault_parse(info->host->config_get(info->context, "slow_ms"), 20);
  *out_instance = self;
  return KORDON_OK;
}

static kordon_status fault_start(void* instance) {
  (void)instance;
  return KORDON_OK;
}

static kordon_status fault_stop(void* instance) {
  (void)instance;
  return KORDON_OK;
}

static void fault_flood(fault_instance* self) {
  uint64_t i;
  char body[48];
  kordon_publish_args args;
  for (i = 0; i < self->flood_batch; ++i) {
    int size = snprintf(body, sizeof body, "{\"n\":%lu}", (unsigned long)++self->flooded);
    memset(&args, 0, sizeof args);
    args.struct_size = sizeof args;
    args.topic = "test.flood";
    args.body = body;
    args.body_size = (size_t)size;
    (void)self->host->publish(self->context, &args);  /* KORDON_E_BUSY ignored: a flood */
  }
}

static kordon_status fault_handle_message(void* instance, const kordon_message* message) {
  fault_instance* self = (fault_instance*)instance;
  (void)message;
  if (++self->received < self->after) return KORDON_OK;
  switch (self->kind) {
    case FAULT_SEGFAULT: {
      volatile int* volatile nowhere = NULL;
      *nowhere = 1;
      break;
    }
    case FAULT_ABORT:
      abort();
    case FAULT_HANG:
      for (;;) pause();
    case FAULT_LEAK: {
      size_t bytes = (size_t)self->leak_kb * 1024u;
      char* block = (char*)malloc(bytes);
      if (block == NULL) abort();  /* what most C code does when memory runs out */
      memset(block, 0x5a, bytes);
      break;
    }
    case FAULT_FLOOD:
      fault_flood(self);
      break;
    case FAULT_SLOW: {
      struct timespec pause_for;
      pause_for.tv_sec = (time_t)(self->slow_ms / 1000u);
      pause_for.tv_nsec = (long)(self->slow_ms % 1000u) * 1000000L;
      while (nanosleep(&pause_for, &pause_for) != 0 && errno == EINTR) {
      }
      break;
    }
    case FAULT_NONE:
      break;
  }
  return KORDON_OK;
}

static void fault_destroy(void* instance) { free(instance); }

static const char* const kFaultSubscribes[] = {"test.tick", NULL};
static const char* const kFaultPublishes[] = {"test.flood", NULL};

static const kordon_plugin_descriptor kFaultDescriptor = {
    .struct_size = sizeof(kordon_plugin_descriptor),
    .abi_version = KORDON_ABI_VERSION,
    .name = "integ-fault",
    .kind = KORDON_KIND_OTHER,
    .vendor = "Kordon tests",
    .version = "1.0.0",
    .description = "fault-test plugin: segfaults, aborts, hangs, leaks or floods on request",
    .publishes = kFaultPublishes,
    .subscribes = kFaultSubscribes,
    .services = NULL,
    .create = fault_create,
    .start = fault_start,
    .stop = fault_stop,
    .handle_message = fault_handle_message,
    .destroy = fault_destroy,
};

KORDON_PLUGIN_ENTRY(offer, out_descriptor) {
  return kordon_answer_offer(offer, &kFaultDescriptor, out_descriptor);
}
