/*
 * The calling thread's CPU time, for metering guests (src/host/thread-clock.ts).
 *
 * Why a native clock: isolated-vm 7's prebuilt `isolate.cpuTime` is wall time while the isolate is
 * entered (a guest blocked in Atomics.wait reads as busy), and Node's `process.threadCpuUsage`
 * is getrusage(RUSAGE_THREAD), which this kernel keeps in scheduler ticks: it reads 0 for a short
 * loop. CLOCK_THREAD_CPUTIME_ID is the scheduler's own nanosecond count for this thread.
 */
#include <node_api.h>
#include <time.h>

static napi_value js_thread_cpu_ns(napi_env env, napi_callback_info info) {
  (void)info;
  struct timespec ts;
  napi_value r;
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) {
    napi_throw_error(env, NULL, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    return NULL;
  }
  /* A double holds integer nanoseconds exactly up to 2^53 ns, about 104 days of one thread's CPU. */
  napi_create_double(env, (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec, &r);
  return r;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "threadCpuNs", NAPI_AUTO_LENGTH, js_thread_cpu_ns, NULL, &fn);
  napi_set_named_property(env, exports, "threadCpuNs", fn);
  return exports;
}
