/*
 * kordon.h — the Kordon plugin ABI.
 *
 * This header is the whole contract between kordon-host and a plugin. It is plain C99 so that
 * any vendor compiler can build a plugin; nothing C++ (exceptions, STL types, RTTI) crosses it.
 * sdk/README.md explains the lifecycle, threading, memory ownership and versioning rules in
 * prose; this file states them next to each declaration.
 *
 * Rules that never change, whatever the version:
 *  - A plugin exports exactly one symbol, kordon_plugin_entry (KORDON_PLUGIN_ENTRY_NAME).
 *  - Every struct that crosses the boundary begins with `uint32_t struct_size`, filled with
 *    sizeof() as the side that allocated it was compiled. Fields are append-only: a new minor
 *    version may add fields at the end, never move, remove or retype one. A reader checks
 *    that a field lies inside struct_size before it reads the field.
 *  - The first two fields of kordon_plugin_descriptor (struct_size, abi_version) keep their
 *    place in every major version, so that a host can always name the version of a plugin it
 *    refuses.
 */
#ifndef KORDON_KORDON_H_
#define KORDON_KORDON_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------
 * Versions
 *
 * ABI changelog (newest first). A minor version only adds; a major version breaks.
 *   1.0  SDK 1.0.0  First version: negotiation through kordon_plugin_entry; descriptor with
 *                   name, kind, vendor, version, description, published / subscribed topics,
 *                   services and the create / start / stop / handle_message / destroy table;
 *                   host services publish, log, config_get, config_key_at, timer_start,
 *                   timer_cancel, request, reply.
 * ------------------------------------------------------------------------------------------ */
#define KORDON_ABI_MAJOR 1
#define KORDON_ABI_MINOR 0
/* The oldest ABI this SDK's host still loads. */
#define KORDON_ABI_MIN_SUPPORTED_MAJOR 1
#define KORDON_ABI_MIN_SUPPORTED_MINOR 0
/* SDK release = ABI major.minor plus a patch level for fixes that do not touch the ABI. */
#define KORDON_SDK_VERSION_PATCH 0

/* An ABI version packed into 32 bits: major in the high 16, minor in the low 16. */
#define KORDON_MAKE_ABI_VERSION(major, minor) \
  ((uint32_t)((((uint32_t)(major)) << 16) | (((uint32_t)(minor)) & 0xFFFFu)))
#define KORDON_ABI_VERSION_MAJOR(version) ((uint32_t)(version) >> 16)
#define KORDON_ABI_VERSION_MINOR(version) ((uint32_t)(version) & 0xFFFFu)

#define KORDON_ABI_VERSION KORDON_MAKE_ABI_VERSION(KORDON_ABI_MAJOR, KORDON_ABI_MINOR)
#define KORDON_ABI_MIN_SUPPORTED_VERSION \
  KORDON_MAKE_ABI_VERSION(KORDON_ABI_MIN_SUPPORTED_MAJOR, KORDON_ABI_MIN_SUPPORTED_MINOR)

/* The one exported symbol. Its name never depends on the file name. */
#define KORDON_PLUGIN_ENTRY_NAME "kordon_plugin_entry"

#if defined(_WIN32)
#define KORDON_EXPORT __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#define KORDON_EXPORT __attribute__((visibility("default")))
#else
#define KORDON_EXPORT
#endif

/* ------------------------------------------------------------------------------------------
 * Status codes. Errors are returned, never thrown or signalled.
 * ------------------------------------------------------------------------------------------ */
typedef int32_t kordon_status;

enum {
  KORDON_OK = 0,
  KORDON_E_INVALID_ARGUMENT = -1, /* a bad topic, body, key or pointer */
  KORDON_E_VERSION = -2,          /* the other side's ABI version is not acceptable */
  KORDON_E_NOT_FOUND = -3,        /* no such key, timer or service */
  KORDON_E_TIMEOUT = -4,          /* a request got no reply in time */
  KORDON_E_BUSY = -5,             /* the bus could not take the message in time (backpressure) */
  KORDON_E_STOPPED = -6,          /* the instance or the host is stopping */
  KORDON_E_NO_MEMORY = -7,
  KORDON_E_INTERNAL = -8,         /* a bug: an exception or invariant broken inside a plugin */
  KORDON_E_FAILED = -9            /* the operation failed; a log line says why */
};

/* A static name for a status, for log lines: "KORDON_E_TIMEOUT". */
static inline const char* kordon_status_name(kordon_status status) {
  switch (status) {
    case KORDON_OK: return "KORDON_OK";
    case KORDON_E_INVALID_ARGUMENT: return "KORDON_E_INVALID_ARGUMENT";
    case KORDON_E_VERSION: return "KORDON_E_VERSION";
    case KORDON_E_NOT_FOUND: return "KORDON_E_NOT_FOUND";
    case KORDON_E_TIMEOUT: return "KORDON_E_TIMEOUT";
    case KORDON_E_BUSY: return "KORDON_E_BUSY";
    case KORDON_E_STOPPED: return "KORDON_E_STOPPED";
    case KORDON_E_NO_MEMORY: return "KORDON_E_NO_MEMORY";
    case KORDON_E_INTERNAL: return "KORDON_E_INTERNAL";
    case KORDON_E_FAILED: return "KORDON_E_FAILED";
    default: return "KORDON_E_UNKNOWN";
  }
}

/* ------------------------------------------------------------------------------------------
 * Enumerations. Values are fixed forever; new values may be added in a minor version, so a
 * reader treats an unknown value as KORDON_KIND_OTHER / the nearest lower level.
 * ------------------------------------------------------------------------------------------ */
typedef uint32_t kordon_plugin_kind;
enum {
  KORDON_KIND_UNSPECIFIED = 0, /* refused: a descriptor must name its kind */
  KORDON_KIND_SCANNER = 1,     /* document, plate, container readers, X-ray */
  KORDON_KIND_SCALE = 2,       /* weighbridges */
  KORDON_KIND_DATABASE = 3,    /* journal, watchlists, manifests */
  KORDON_KIND_RISK = 4,        /* risk modules */
  KORDON_KIND_CONSOLE = 5,     /* officer workstation front ends */
  KORDON_KIND_BRIDGE = 6,      /* links to other hosts and sites */
  KORDON_KIND_OTHER = 7
};

typedef uint32_t kordon_log_level;
enum {
  KORDON_LOG_TRACE = 0,
  KORDON_LOG_DEBUG = 1,
  KORDON_LOG_INFO = 2,
  KORDON_LOG_WARN = 3,
  KORDON_LOG_ERROR = 4
};

/* ------------------------------------------------------------------------------------------
 * Messages
 * ------------------------------------------------------------------------------------------ */

/* A message as the host delivers it to a plugin (see the envelope in sdk/README.md).
 * Owned by the host and valid only for the duration of the callback that receives it: copy
 * what you keep. Every string is NUL-terminated UTF-8; an absent value is "" (never NULL). */
typedef struct kordon_message {
  uint32_t struct_size;
  const char* topic;          /* dotted, kind first: "scanner.plate.read" */
  const char* id;             /* 32 lower-case hex digits, unique per message */
  int64_t time_us;            /* publication time, microseconds since the Unix epoch, UTC */
  const char* source;         /* instance name of the publisher, or an external client's name */
  const char* lane;           /* lane the message concerns, "" when none */
  const char* crossing_id;    /* correlation of everything about one crossing, "" when none */
  const char* schema;         /* the body's schema name, e.g. "scanner.plate.read" */
  uint32_t schema_version;    /* the body's schema version, >= 1 */
  const char* body;           /* a JSON object, UTF-8, NUL-terminated */
  size_t body_size;           /* bytes in body, without the terminating NUL */
  const char* reply_to;       /* non-empty for a request: answer it with host->reply */
  const char* correlation_id; /* for a reply: the id of the request it answers */
  uint32_t flags;             /* KORDON_MESSAGE_* bits */
} kordon_message;

/* flags: this reply reports a failure; its body is {"error": "..."}. */
#define KORDON_MESSAGE_ERROR_REPLY 0x1u

/* What a plugin passes to host->publish. Owned by the caller; the host copies what it needs
 * before publish returns. */
typedef struct kordon_publish_args {
  uint32_t struct_size;
  const char* topic;       /* required; see "Topics" in sdk/README.md */
  const char* body;        /* required; a JSON object, UTF-8 */
  size_t body_size;        /* bytes in body */
  const char* lane;        /* NULL: the instance's configured lane */
  const char* crossing_id; /* NULL or "": none */
  const char* schema;      /* NULL: the topic */
  uint32_t schema_version; /* 0: 1 */
} kordon_publish_args;

/* ------------------------------------------------------------------------------------------
 * Host services
 * ------------------------------------------------------------------------------------------ */

/* Opaque: identifies one plugin instance to the host. */
typedef struct kordon_host_context kordon_host_context;

/* Called on the instance's thread when a timer fires. */
typedef void (*kordon_timer_fn)(void* instance, uint64_t timer_id, void* user_data);

/* Called on the instance's thread exactly once per successful request:
 *   KORDON_OK        reply is the service's answer;
 *   KORDON_E_FAILED  reply is the service's error answer ({"error": "..."});
 *   KORDON_E_TIMEOUT no answer in time (reply is NULL);
 *   KORDON_E_STOPPED the instance is stopping (reply is NULL). */
typedef void (*kordon_reply_fn)(void* instance, kordon_status status,
                                const kordon_message* reply, void* user_data);

/* The services the host offers to each instance. Every function is safe to call from any
 * thread, at any time between create and the return of destroy. Pass the context received in
 * kordon_instance_info. */
typedef struct kordon_host_api {
  uint32_t struct_size;
  uint32_t abi_version; /* the ABI the host speaks */

  /* Publish one message on the bus. Validates topic and body (a JSON object, UTF-8).
   * Blocks while the bus applies backpressure, at most the host's publish timeout; then
   * returns KORDON_E_BUSY (counted and logged by the host; the message was not accepted). */
  kordon_status (*publish)(kordon_host_context* context, const kordon_publish_args* args);

  /* Write one line to the host's log, tagged with the instance name. */
  void (*log)(kordon_host_context* context, kordon_log_level level, const char* message);

  /* The instance's configuration value for key, or NULL when not set. The string is owned by
   * the host and stays valid until destroy returns. */
  const char* (*config_get)(kordon_host_context* context, const char* key);

  /* The index-th configuration key (0-based, in file order), or NULL past the last one. */
  const char* (*config_key_at)(kordon_host_context* context, size_t index);

  /* Start a timer: fn runs on the instance's thread after delay_ms, then every interval_ms
   * (0: once). *out_timer_id (may be NULL) receives an id for timer_cancel. */
  kordon_status (*timer_start)(kordon_host_context* context, uint64_t delay_ms,
                               uint64_t interval_ms, kordon_timer_fn fn, void* user_data,
                               uint64_t* out_timer_id);

  /* Cancel a timer. After it returns on the instance's own thread, fn does not run again. */
  kordon_status (*timer_cancel)(kordon_host_context* context, uint64_t timer_id);

  /* Send a request (body: a JSON object) to the named service and return at once; fn runs on
   * the instance's thread with the reply or KORDON_E_TIMEOUT after timeout_ms. */
  kordon_status (*request)(kordon_host_context* context, const char* service,
                           const char* body, size_t body_size, uint32_t timeout_ms,
                           kordon_reply_fn fn, void* user_data);

  /* Answer a request received in handle_message (request->reply_to is non-empty). status is
   * KORDON_OK for an answer or any error code for a failure, in which case body explains it. */
  kordon_status (*reply)(kordon_host_context* context, const kordon_message* request,
                         kordon_status status, const char* body, size_t body_size);
} kordon_host_api;

/* ------------------------------------------------------------------------------------------
 * The plugin's side
 * ------------------------------------------------------------------------------------------ */

/* Handed to create. Owned by the host; every pointer stays valid until destroy returns. */
typedef struct kordon_instance_info {
  uint32_t struct_size;
  const char* instance_name;     /* unique within the host, from the configuration */
  const char* lane;              /* the lane the instance serves, "" when none */
  const kordon_host_api* host;   /* the host's services */
  kordon_host_context* context;  /* pass to every host service */
} kordon_instance_info;

/* Lifecycle: create -> start -> (handle_message | timers | replies)* -> stop -> destroy.
 * Threading: the host calls every function of one instance on that instance's own thread,
 * one call at a time, messages in the order the bus delivered them (the instance is an actor).
 * Different instances run concurrently. A function returns a status; it never throws, never
 * calls exit or abort, and never installs signal handlers. */
typedef kordon_status (*kordon_create_fn)(const kordon_instance_info* info, void** out_instance);
typedef kordon_status (*kordon_start_fn)(void* instance);
typedef kordon_status (*kordon_stop_fn)(void* instance);
typedef kordon_status (*kordon_handle_message_fn)(void* instance, const kordon_message* message);
typedef void (*kordon_destroy_fn)(void* instance);

/* Describes a plugin. Owned by the plugin: static storage that stays valid while the library
 * is loaded. String lists are NULL-terminated arrays; a NULL list means "none". */
typedef struct kordon_plugin_descriptor {
  uint32_t struct_size;             /* frozen position in every major version */
  uint32_t abi_version;             /* the ABI the plugin implements; frozen position */
  const char* name;                 /* e.g. "plate-sim": lower case, digits, '-' */
  kordon_plugin_kind kind;
  const char* vendor;
  const char* version;              /* the plugin's own version, e.g. "1.4.2" */
  const char* description;          /* one line */
  const char* const* publishes;     /* topic prefixes it publishes */
  const char* const* subscribes;    /* topic prefixes it receives unless configured otherwise */
  const char* const* services;      /* service names it answers (see request / reply) */
  kordon_create_fn create;
  kordon_start_fn start;
  kordon_stop_fn stop;
  kordon_handle_message_fn handle_message;
  kordon_destroy_fn destroy;
} kordon_plugin_descriptor;

/* What the host offers when it asks a plugin for its descriptor. */
typedef struct kordon_host_offer {
  uint32_t struct_size;
  uint32_t abi_version;     /* the ABI the host speaks */
  uint32_t min_abi_version; /* the oldest ABI the host still loads */
  const char* host_version; /* informational, e.g. "1.0.0" */
} kordon_host_offer;

/* The one exported entry point. The host calls it once after loading the library.
 * The plugin sets *out_descriptor to its descriptor — also when it refuses, so that the host
 * can name the plugin's version — and returns KORDON_OK to accept the offer, or
 * KORDON_E_VERSION to refuse it (for example: a different major version). It must not have
 * side effects beyond that: no threads, no global state, no signal handlers. */
typedef kordon_status (*kordon_plugin_entry_fn)(const kordon_host_offer* offer,
                                                const kordon_plugin_descriptor** out_descriptor);

/* The entry point itself; a plugin defines it with KORDON_PLUGIN_ENTRY below. */
KORDON_EXPORT kordon_status kordon_plugin_entry(const kordon_host_offer* offer,
                                                const kordon_plugin_descriptor** out_descriptor);

/* The usual answer to an offer, for plugins built against this header: accept a host of the
 * same major version whose minor version is at least ours. */
static inline kordon_status kordon_answer_offer(const kordon_host_offer* offer,
                                                const kordon_plugin_descriptor* descriptor,
                                                const kordon_plugin_descriptor** out_descriptor) {
  if (out_descriptor == NULL) return KORDON_E_INVALID_ARGUMENT;
  *out_descriptor = descriptor;
  if (offer == NULL || offer->struct_size < sizeof(uint32_t) * 2) return KORDON_E_INVALID_ARGUMENT;
  if (KORDON_ABI_VERSION_MAJOR(offer->abi_version) != KORDON_ABI_VERSION_MAJOR(descriptor->abi_version))
    return KORDON_E_VERSION;
  if (KORDON_ABI_VERSION_MINOR(offer->abi_version) < KORDON_ABI_VERSION_MINOR(descriptor->abi_version))
    return KORDON_E_VERSION;
  return KORDON_OK;
}

/* Declares the entry point with the right linkage and visibility. Use it as
 *   KORDON_PLUGIN_ENTRY(offer, out) { return kordon_answer_offer(offer, &my_descriptor, out); } */
#define KORDON_PLUGIN_ENTRY(offer, out_descriptor)                        \
  KORDON_EXPORT kordon_status kordon_plugin_entry(                        \
      const kordon_host_offer* offer, const kordon_plugin_descriptor** out_descriptor)

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KORDON_KORDON_H_ */
