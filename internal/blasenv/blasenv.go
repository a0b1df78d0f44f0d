// Package blasenv makes OpenBLAS use kernels that fit the CPU when it does not
// recognise the processor.
//
// OpenBLAS 0.3.21 (Debian 12) falls back to its oldest "Prescott" kernels on
// CPUs newer than it knows (e.g. Intel family 6 model 207): BLAS work gets
// about 5x slower and a crash in sgemm_kernel_PRESCOTT has been seen. The
// OPENBLAS_CORETYPE variable fixes that, but OpenBLAS reads it when the shared
// library is loaded, before Go's main runs, so the program must re-execute
// itself with the variable set: Ensure does that.
package blasenv

import (
	"fmt"
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/cpu"
)

const (
	// CoreTypeVar is the variable OpenBLAS reads at load time.
	CoreTypeVar = "OPENBLAS_CORETYPE"
	// GuardVar is set in the re-executed process so that it never re-executes
	// again.
	GuardVar = "FACESEARCH_BLAS_REEXEC"
)

// Features are the CPU features that decide which OpenBLAS kernels can run.
type Features struct {
	// AVX512 is true when AVX-512 F, BW, VL and DQ are all usable.
	AVX512 bool
	// AVX2 is true when AVX2 is usable.
	AVX2 bool
	// FMA is true when FMA3 is usable.
	FMA bool
}

// HostFeatures reports the features of this CPU (and OS support for them).
func HostFeatures() Features {
	return Features{
		AVX512: cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512DQ,
		AVX2:   cpu.X86.HasAVX2,
		FMA:    cpu.X86.HasFMA,
	}
}

// fallbackCores are the OpenBLAS core names (lower case) that predate AVX2.
// OpenBLAS picking one of them on a CPU with AVX2 means it did not recognise
// the CPU and fell back.
var fallbackCores = map[string]bool{
	"unknown": true, "katmai": true, "coppermine": true, "northwood": true,
	"prescott": true, "banias": true, "atom": true, "core2": true,
	"penryn": true, "dunnington": true, "nehalem": true, "sandybridge": true,
	"athlon": true, "opteron": true, "opteron_sse3": true, "barcelona": true,
	"nano": true, "bobcat": true,
}

// IsFallbackCore reports whether an OpenBLAS core name is one of the pre-AVX2
// kernel families OpenBLAS falls back to on CPUs it does not know.
func IsFallbackCore(coreName string) bool {
	return fallbackCores[strings.ToLower(strings.TrimSpace(coreName))]
}

// Decide returns the OPENBLAS_CORETYPE value to set, or "" to leave things
// alone. It leaves them alone when the variable is already set (a value set
// by the user or the machine is respected), when coreName (from
// openblas_get_corename; "" if unknown) is not a pre-AVX2 fallback, or when
// the CPU has neither AVX-512 nor AVX2+FMA. Otherwise it picks "SkylakeX"
// with AVX-512 (F, BW, VL, DQ) and "Haswell" with AVX2+FMA.
func Decide(getenv func(string) string, coreName string, f Features) string {
	if getenv(CoreTypeVar) != "" {
		return ""
	}
	if !IsFallbackCore(coreName) {
		return ""
	}
	switch {
	case f.AVX512 && f.AVX2 && f.FMA:
		return "SkylakeX"
	case f.AVX2 && f.FMA:
		return "Haswell"
	}
	return ""
}

// Ensure re-executes the running program (/proc/self/exe, same arguments)
// with OPENBLAS_CORETYPE set when Decide says so, and returns nil without
// doing anything otherwise. coreName reports the kernel family OpenBLAS chose
// (faiss.BLASCoreName). A guard variable makes sure it re-executes at most
// once. On success it does not return; it returns an error only if the exec
// failed, and the program can then carry on with the slower kernels.
//
// Call it first thing in main, and in TestMain of test binaries that use
// BLAS: re-executing a test binary with the same arguments works.
func Ensure(coreName func() string) error {
	if os.Getenv(GuardVar) != "" {
		return nil
	}
	name := coreName()
	v := Decide(os.Getenv, name, HostFeatures())
	if v == "" {
		return nil
	}
	exe := "/proc/self/exe"
	if _, err := os.Stat(exe); err != nil {
		if exe, err = os.Executable(); err != nil {
			return fmt.Errorf("blasenv: re-exec with %s=%s: %w", CoreTypeVar, v, err)
		}
	}
	env := append(os.Environ(), CoreTypeVar+"="+v, GuardVar+"=1")
	if err := syscall.Exec(exe, os.Args, env); err != nil {
		return fmt.Errorf("blasenv: re-exec %s with %s=%s (OpenBLAS chose %q): %w", exe, CoreTypeVar, v, name, err)
	}
	return nil
}
