package sandbox

import (
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// workerNice is a worker's scheduling priority (nice value).
const workerNice = 10

// watchInterval is how often a worker checks its own resident memory.
const watchInterval = 10 * time.Millisecond

// confine caps the worker's memory before it reads any input: the address
// space may grow by at most memory over what the runtime has mapped at start
// (RLIMIT_AS: a hard stop, the runtime dies "out of memory"); the garbage
// collector aims below the cap; and a watchdog ends the process with
// exitMemory as soon as its resident set passes the cap, so an allocation
// spree (Helm output, a generator) is stopped while it grows. It also turns
// SIGXCPU, sent when RLIMIT_CPU runs out, into exitCPU.
func confine(memory int64) error {
	// A render yields the CPU to the process that started it: the server
	// keeps answering webhooks (and the CLI reading the repository) while
	// workers start or a hostile render spins.
	if err := lowerPriority(workerNice); err != nil {
		return fmt.Errorf("lower the worker's priority: %w", err)
	}
	if memory <= 0 {
		return nil
	}
	base, err := virtualBytes()
	if err != nil {
		return err
	}
	limit := uint64(base + memory)
	if err := syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: limit, Max: limit}); err != nil {
		return fmt.Errorf("limit address space: %w", err)
	}
	debug.SetMemoryLimit(memory * 3 / 4)
	go watchMemory(memory)
	xcpu := make(chan os.Signal, 1)
	signal.Notify(xcpu, syscall.SIGXCPU)
	go func() {
		<-xcpu
		os.Exit(exitCPU)
	}()
	return nil
}

// lowerPriority sets the process's nice value to nice unless it is nicer
// already (raising a priority takes privileges).
func lowerPriority(nice int) error {
	// The raw getpriority system call answers 20 - nice.
	prio, err := syscall.Getpriority(syscall.PRIO_PROCESS, 0)
	if err != nil {
		return err
	}
	if 20-prio >= nice {
		return nil
	}
	return syscall.Setpriority(syscall.PRIO_PROCESS, 0, nice)
}

func watchMemory(memory int64) {
	for range time.Tick(watchInterval) {
		if residentBytes() > memory {
			os.Exit(exitMemory)
		}
	}
}

// limitCPU lets the next render use seconds of CPU on top of what the
// process has used so far.
func limitCPU(seconds int64) error {
	if seconds <= 0 {
		return nil
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return err
	}
	used := ru.Utime.Sec + ru.Stime.Sec + 1
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_CPU, &lim); err != nil {
		return err
	}
	lim.Cur = uint64(used + seconds)
	if lim.Max != ^uint64(0) && lim.Cur > lim.Max {
		lim.Cur = lim.Max
	}
	return syscall.Setrlimit(syscall.RLIMIT_CPU, &lim)
}

// residentBytes reads the process's resident set from /proc/self/statm.
func residentBytes() int64 {
	return statm(1)
}

func virtualBytes() (int64, error) {
	if v := statm(0); v > 0 {
		return v, nil
	}
	return 0, fmt.Errorf("read /proc/self/statm")
}

func statm(field int) int64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data))
	if len(f) <= field {
		return 0
	}
	pages, _ := strconv.ParseInt(f[field], 10, 64)
	return pages * int64(os.Getpagesize())
}
