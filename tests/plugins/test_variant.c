/*
 * test_variant.c — one minimal C99 plugin, built several times with a different VARIANT_*
 * definition so that each build is broken in exactly one way the host must refuse (or, with
 * no definition, is valid). tests/plugins/CMakeLists.txt lists the targets:
 *
 *   (none)                  test_ok                  valid
 *   VARIANT_MAJOR2          test_abi_major2          abi major + 1; refuses the offer
 *   VARIANT_MAJOR2_ACCEPTS  test_abi_major2_accepts  abi major + 1 but accepts the offer
 *   VARIANT_NEWER_MINOR     test_abi_newer_minor     abi minor + 5, accepts without checking
 *   VARIANT_SMALL_STRUCT    test_small_struct        struct_size ends before `description`
 *   VARIANT_NO_NAME         test_no_name             name = NULL
 *   VARIANT_NO_HANDLE       test_no_handle           handle_message = NULL
 *   VARIANT_BAD_KIND        test_bad_kind            kind = KORDON_KIND_UNSPECIFIED
 *   VARIANT_NO_ENTRY        test_no_entry            exports kordon_plugin_entry_v0 instead
 */
#include <kordon/kordon.h>

#include <stddef.h>

#if defined(VARIANT_MAJOR2) || defined(VARIANT_MAJOR2_ACCEPTS)
#define VARIANT_ABI_VERSION KORDON_MAKE_ABI_VERSION(KORDON_ABI_MAJOR + 1, 0)
#elif defined(VARIANT_NEWER_MINOR)
#define VARIANT_ABI_VERSION KORDON_MAKE_ABI_VERSION(KORDON_ABI_MAJOR, KORDON_ABI_MINOR + 5)
#else
#define VARIANT_ABI_VERSION KORDON_ABI_VERSION
#endif

#if defined(VARIANT_SMALL_STRUCT)
#define VARIANT_STRUCT_SIZE offsetof(kordon_plugin_descriptor, description)
#else
#define VARIANT_STRUCT_SIZE sizeof(kordon_plugin_descriptor)
#endif

#if defined(VARIANT_NO_NAME)
#define VARIANT_NAME NULL
#else
#define VARIANT_NAME "test-variant"
#endif

#if defined(VARIANT_BAD_KIND)
#define VARIANT_KIND KORDON_KIND_UNSPECIFIED
#else
#define VARIANT_KIND KORDON_KIND_OTHER
#endif

/* The instance is a token: nothing to allocate. */
static int variant_instance;

static kordon_status variant_create(const kordon_instance_info* info, void** out_instance) {
  (void)info;
  if (out_instance == NULL) return KORDON_E_INVALID_ARGUMENT;
  *out_instance = &variant_instance;
  return KORDON_OK;
}

static kordon_status variant_start(void* instance) {
  (void)instance;
  return KORDON_OK;
}

static kordon_status variant_stop(void* instance) {
  (void)instance;
  return KORDON_OK;
}

#if !defined(VARIANT_NO_HANDLE)
static kordon_status variant_handle_message(void* instance, const kordon_message* message) {
  (void)instance;
  (void)message;
  return KORDON_OK;
}
#define VARIANT_HANDLE variant_handle_message
#else
#define VARIANT_HANDLE NULL
#endif

static void variant_destroy(void* instance) { (void)instance; }

static const char* const kVariantSubscribes[] = {"test.variant", NULL};

static const kordon_plugin_descriptor kVariantDescriptor = {
    .struct_size = (uint32_t)VARIANT_STRUCT_SIZE,
    .abi_version = VARIANT_ABI_VERSION,
    .name = VARIANT_NAME,
    .kind = VARIANT_KIND,
    .vendor = "Kordon tests",
    .version = "1.0.0",
    .description = "refusal-test plugin (see tests/plugins/test_variant.c)",
    .publishes = NULL,
    .subscribes = kVariantSubscribes,
    .services = NULL,
    .create = variant_create,
    .start = variant_start,
    .stop = variant_stop,
    .handle_message = VARIANT_HANDLE,
    .destroy = variant_destroy,
};

#if defined(VARIANT_NO_ENTRY)

/* A plausible but wrong name: the host must look up kordon_plugin_entry only. */
KORDON_EXPORT kordon_status kordon_plugin_entry_v0(const kordon_host_offer* offer,
                                                   const kordon_plugin_descriptor** out_descriptor);
KORDON_EXPORT kordon_status kordon_plugin_entry_v0(const kordon_host_offer* offer,
                                                   const kordon_plugin_descriptor** out_descriptor) {
  return kordon_answer_offer(offer, &kVariantDescriptor, out_descriptor);
}

#elif defined(VARIANT_MAJOR2_ACCEPTS) || defined(VARIANT_NEWER_MINOR)

/* Claims to work with any host, without comparing versions. */
KORDON_PLUGIN_ENTRY(offer, out_descriptor) {
  (void)offer;
  if (out_descriptor == NULL) return KORDON_E_INVALID_ARGUMENT;
  *out_descriptor = &kVariantDescriptor;
  return KORDON_OK;
}

#else

/* For VARIANT_MAJOR2, kordon_answer_offer compares the majors and returns KORDON_E_VERSION
 * (with *out_descriptor set) to a host of KORDON_ABI_MAJOR. */
KORDON_PLUGIN_ENTRY(offer, out_descriptor) {
  return kordon_answer_offer(offer, &kVariantDescriptor, out_descriptor);
}

#endif
