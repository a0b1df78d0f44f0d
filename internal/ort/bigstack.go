package ort

/*
#include <stddef.h>
#include <stdint.h>
int ort_run_on_big_stack(uintptr_t handle, size_t stack);
*/
import "C"

import (
	"fmt"
	"os"
	"runtime"
	"runtime/cgo"
	"syscall"
)

// onnxruntime's environment set-up (CreateOrtEnv) reads /proc/self/cmdline
// and matches it with a std::regex whose libstdc++ executor recurses once
// per character, about 290 bytes of C stack each: with the 8 MiB stack of a
// Go-created thread it overflows (SIGSEGV) once the command line passes
// about 29 KB, e.g. 'facesearch search' with 589 photo paths. So the set-up
// runs on a thread of its own whose stack is sized to the command line.

// initStackBase and initStackPerByte size that thread's stack: 16 MiB plus
// 1 KiB per command-line byte (3.5x the measured need), capped at
// initStackMax. The stack is reserved, not committed: only the pages the
// recursion touches are ever used, and they are freed when the thread ends.
const (
	initStackBase    = 16 << 20
	initStackPerByte = 1 << 10
	initStackMax     = 4 << 30
)

// initStackSize returns the stack size for a command line of n bytes.
func initStackSize(n int) int {
	return min(initStackBase+n*initStackPerByte, initStackMax)
}

// cmdlineLen is the length of /proc/self/cmdline (0 if unreadable).
func cmdlineLen() int {
	b, err := os.ReadFile("/proc/self/cmdline")
	if err != nil {
		return 0
	}
	return len(b)
}

//export ortBigStackCallback
func ortBigStackCallback(h C.uintptr_t) {
	cgo.Handle(h).Value().(func())()
}

// onBigStack runs f, and the C calls it makes, on a new OS thread with a
// stack of the given size, and waits for it. A cgo call made by Go code
// running in a callback from a C thread runs on that thread's stack.
func onBigStack(stack int, f func()) error {
	h := cgo.NewHandle(f)
	defer h.Delete()
	if rc := C.ort_run_on_big_stack(C.uintptr_t(h), C.size_t(stack)); rc != 0 {
		return fmt.Errorf("onnxruntime: start a thread with a %d MiB stack: %w", stack>>20, syscall.Errno(rc))
	}
	runtime.KeepAlive(f)
	return nil
}
