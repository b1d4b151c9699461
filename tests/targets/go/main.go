// target-go: what a Go user asks of a core, in one small process.
//
// Goroutines blocked on a channel receive, a channel send, a select, a
// sleep and a mutex, each in a function of its own (main.recvOne,
// main.sendOne, main.selectTwo, main.sleepLong, main.lockWait); a map
// and a linked list reached from globals.  Prints the facts the core must
// show as key=value lines, then "ready=1" once every goroutine is blocked;
// on SIGUSR1 it checks that nothing changed, unblocks every goroutine,
// waits for them and exits 0 (1 with "check-failed: ..." on stderr).
package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

type Item struct {
	ID   int
	Name string
	Next *Item
}

var (
	Catalog = map[string]int{"alpha": 0x1d00, "beta": 0x1d01, "gamma": 0x1d02}
	Head    *Item
	Counter uint64 = 0x1122334455667788

	recvCh   = make(chan int)
	sendCh   = make(chan int)
	selA     = make(chan int)
	selB     = make(chan string)
	sleepCh  = make(chan bool)
	mu       sync.Mutex
	finished sync.WaitGroup
	failures []string
)

func fail(format string, a ...interface{}) {
	failures = append(failures, fmt.Sprintf(format, a...))
}

//go:noinline
func recvOne() {
	if v := <-recvCh; v != 1 {
		fail("recvOne got %d", v)
	}
}

//go:noinline
func sendOne() { sendCh <- 2 }

//go:noinline
func selectTwo() {
	select {
	case v := <-selA:
		if v != 3 {
			fail("selectTwo got %d", v)
		}
	case s := <-selB:
		fail("selectTwo got %q", s)
	}
}

//go:noinline
func sleepLong() {
	select {
	case <-time.After(24 * time.Hour):
		fail("sleepLong woke by itself")
	case <-sleepCh:
	}
}

//go:noinline
func lockWait() {
	mu.Lock()
	mu.Unlock()
}

func start(f func()) {
	finished.Add(1)
	go func() {
		defer finished.Done()
		f()
	}()
}

// Every goroutine of ours is parked: the runtime's own dump says so.
func allParked() bool {
	buf := make([]byte, 1<<20)
	dump := string(buf[:runtime.Stack(buf, true)])
	for _, f := range []string{"main.recvOne", "main.sendOne", "main.selectTwo", "main.sleepLong", "main.lockWait"} {
		i := strings.Index(dump, f+"(")
		if i < 0 {
			return false
		}
		head := dump[strings.LastIndex(dump[:i], "goroutine "):i]
		if !strings.Contains(head, "[chan receive") && !strings.Contains(head, "[chan send") &&
			!strings.Contains(head, "[select") && !strings.Contains(head, "[sync.Mutex.Lock") &&
			!strings.Contains(head, "[semacquire") {
			return false
		}
	}
	return true
}

func main() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1)
	names := []string{"alpha", "beta", "gamma"}
	for i := len(names) - 1; i >= 0; i-- {
		Head = &Item{ID: 0x1d00 + i, Name: names[i], Next: Head}
	}
	mu.Lock()
	for _, f := range []func(){recvOne, sendOne, selectTwo, sleepLong, lockWait} {
		start(f)
	}
	for i := 0; !allParked(); i++ {
		if i > 1000 {
			fmt.Fprintln(os.Stderr, "goroutines never blocked")
			os.Exit(99)
		}
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Printf("pid=%d\n", os.Getpid())
	fmt.Printf("counter=%#x\n", Counter)
	for _, n := range names {
		fmt.Printf("catalog.%s=%#x\n", n, Catalog[n])
	}
	for i, it := 0, Head; it != nil; i, it = i+1, it.Next {
		fmt.Printf("list.%d=%#x %s\n", i, it.ID, it.Name)
	}
	fmt.Println("goroutines=main.recvOne main.sendOne main.selectTwo main.sleepLong main.lockWait")
	fmt.Println("ready=1")

	<-sig
	if Counter != 0x1122334455667788 || len(Catalog) != 3 || Catalog["beta"] != 0x1d01 {
		fail("globals changed")
	}
	if !allParked() {
		fail("a goroutine stopped waiting before it was woken")
	}
	recvCh <- 1
	<-sendCh
	selA <- 3
	close(sleepCh)
	mu.Unlock()
	done := make(chan bool)
	go func() { finished.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		fail("goroutines did not finish")
	}
	if len(failures) > 0 {
		for _, f := range failures {
			fmt.Fprintln(os.Stderr, "check-failed:", f)
		}
		fmt.Println("check=failed")
		os.Exit(1)
	}
	fmt.Println("check=ok")
}
