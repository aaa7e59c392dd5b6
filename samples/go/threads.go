// threads.go: a Go program under vmemu (built with CGO_ENABLED=0, so static): goroutines
// over channels, a WaitGroup and a Mutex, a map that the garbage collector sweeps,
// timers, a goroutine in a tight loop that only asynchronous preemption (SIGURG from
// sysmon) can interrupt while another goroutine must run, and os/exec of itself as a
// child. Prints results that do not depend on the schedule; "child" as the first argument
// makes it the child, which prints one line and exits with status 3.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

func fib(n int) int {
	if n < 2 {
		return n
	}
	return fib(n-1) + fib(n-2)
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "child" {
		fmt.Println("child: hello from the exec'ed child")
		os.Exit(3)
	}
	var wg sync.WaitGroup
	ch := make(chan int, 4)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ch <- fib(18 + i%3)
		}(i)
	}
	go func() { wg.Wait(); close(ch) }()
	sum := 0
	for v := range ch {
		sum += v
	}
	fmt.Println("goroutines: sum", sum)

	var mu sync.Mutex
	counter := 0
	var wg2 sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg2.Add(1)
		go func() {
			defer wg2.Done()
			for k := 0; k < 10000; k++ {
				mu.Lock()
				counter++
				mu.Unlock()
			}
		}()
	}
	wg2.Wait()
	fmt.Println("mutex: counter", counter)

	m := map[int][]byte{}
	for i := 0; i < 20000; i++ {
		m[i] = make([]byte, 100+i%50)
	}
	for i := 0; i < 20000; i += 2 {
		delete(m, i)
	}
	runtime.GC()
	var st runtime.MemStats
	runtime.ReadMemStats(&st)
	fmt.Println("gc: map entries", len(m), "collections >= 1:", st.NumGC >= 1)

	start := time.Now()
	t := time.NewTimer(20 * time.Millisecond)
	<-t.C
	fmt.Println("timer: fired after >= 20ms:", time.Since(start) >= 20*time.Millisecond)

	// GOMAXPROCS is 1 (one CPU): the spinning goroutine holds the only P until sysmon
	// preempts it, and only then can the other one set the flag it waits for.
	var flag int32
	go func() { atomic.StoreInt32(&flag, 1) }()
	spins := 0
	for atomic.LoadInt32(&flag) == 0 {
		spins++
	}
	fmt.Println("preemption: the spinning goroutine let the other run")

	self, err := os.Executable()
	if err != nil {
		fmt.Println("os.Executable:", err)
		os.Exit(1)
	}
	out, err := exec.Command(self, "child").Output()
	var ee *exec.ExitError
	code := -1
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	}
	fmt.Printf("exec: %q, exit status %d\n", string(out), code)
}
