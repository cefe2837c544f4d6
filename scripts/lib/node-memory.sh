# shellcheck shell=bash
# The memory settings every ShopLab service process runs with
# (docs/adr/0049-service-memory-lean-telemetry-and-heap-settings.md, docs/benchmarks.md#memory):
#   NODE_OPTIONS            V8's heap: at most 256 MB of old generation, so that V8 collects after
#                           a smaller growth than the ~4x of a heap sized for the whole machine,
#                           and 4 MB semi-spaces (V8 lets them grow to 16 MB and keeps them).
#   MALLOC_MMAP_THRESHOLD_  glibc's own starting threshold, fixed: blocks of 128 KiB and more
#                           (scrypt's 16 MiB buffers) are mapped and given back when freed, not
#                           kept in a thread's arena.
# The Dockerfile's runtime stage sets the same two variables (compose, Kubernetes): change both.
#
# Usage (after `source`): shoplab_node_memory_env   prints the KEY=VALUE lines
SHOPLAB_NODE_OPTIONS="--max-old-space-size=256 --max-semi-space-size=4"
SHOPLAB_MALLOC_MMAP_THRESHOLD=131072

shoplab_node_memory_env() {
  printf '%s\n' "NODE_OPTIONS=$SHOPLAB_NODE_OPTIONS" "MALLOC_MMAP_THRESHOLD_=$SHOPLAB_MALLOC_MMAP_THRESHOLD"
}
