// Runs a Go callback on a new POSIX thread with a stack of the given size:
// see bigstack.go.
#include <pthread.h>
#include <stdint.h>
#include "_cgo_export.h"

static void *ort_bigstack_main(void *arg) {
	ortBigStackCallback((uintptr_t)arg);
	return NULL;
}

int ort_run_on_big_stack(uintptr_t handle, size_t stack) {
	pthread_attr_t attr;
	pthread_t t;
	int rc = pthread_attr_init(&attr);
	if (rc != 0) return rc;
	rc = pthread_attr_setstacksize(&attr, stack);
	if (rc == 0) rc = pthread_create(&t, &attr, ort_bigstack_main, (void *)handle);
	pthread_attr_destroy(&attr);
	if (rc != 0) return rc;
	return pthread_join(t, NULL);
}
