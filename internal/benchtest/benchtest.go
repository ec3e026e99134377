// Package benchtest holds what the benchmarks share to measure; it is
// imported from _test files only.
package benchtest

import "runtime"

// HeapAfterGC is the heap in use (HeapAlloc) after two garbage collections:
// the second sweeps what the first only marked, so the difference of two
// readings is what the code between them keeps alive.
func HeapAfterGC() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
