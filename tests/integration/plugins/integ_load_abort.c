/* A plugin whose own load-time code aborts (a static constructor runs when the library is
 * mapped, before the host can ask anything). Only ever configured with isolation = process:
 * the fault test checks that the host never maps an isolated plugin's code — a child process
 * describes it, and the abort ends only that child. */
#include <stdlib.h>

#include <kordon/kordon.h>

static void abort_at_load(void) __attribute__((constructor));
static void abort_at_load(void) { abort(); }

KORDON_EXPORT kordon_status kordon_plugin_entry(const kordon_host_offer* offer,
                                                const kordon_plugin_descriptor** out) {
  (void)offer;
  (void)out;
  return KORDON_E_INTERNAL; /* never reached */
}
