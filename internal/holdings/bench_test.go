package holdings

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/provider/sandbox"
)

// BenchmarkImportBigBank imports the sandbox's big bank (3 accounts, more
// than 100,000 transactions over five years) through the real worker and
// the embedded queue, and reports:
//
//	tx/s            transactions imported per second (provider generation included)
//	calls/1000tx    store requests per 1,000 transactions (DynamoDB requests for both drivers)
//	peak-heap-MB    highest HeapInuse sampled every 10 ms during the import
//	VmHWM-MB        the process's peak resident set size (whole test binary)
//
// DynamoDB runs against moto, which is slow: it imports the last 160 days
// only (about 10,000 transactions). The sandbox keeps its own state in a
// separate store instance, so calls/1000tx counts the importer's requests
// only. Run with -benchtime=1x.
func BenchmarkImportBigBank(b *testing.B) {
	for _, kind := range stores {
		b.Run(kind, func(b *testing.B) {
			from := time.Time{}
			if kind == "dynamo" {
				from = sandboxNow.AddDate(0, 0, -160)
			}
			var txs, calls int64
			var elapsed time.Duration
			var peak atomic.Uint64
			stop := sampleHeap(&peak)
			defer stop()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				h := newHarness(b, kind, Limits{})
				req := h.connect("200"+strconv.Itoa(i), sandbox.BankBig, from)
				runtime.GC()
				peak.Store(0)
				c0 := h.st.Calls()
				b.StartTimer()
				start := time.Now()
				p := h.importNow(req)
				elapsed += time.Since(start)
				b.StopTimer()
				if p.State != StateDone {
					b.Fatalf("import %+v", p)
				}
				txs += p.Transactions
				calls += h.st.Calls() - c0
				b.StartTimer()
			}
			b.ReportMetric(float64(txs)/elapsed.Seconds(), "tx/s")
			b.ReportMetric(float64(calls)*1000/float64(txs), "calls/1000tx")
			b.ReportMetric(float64(txs)/float64(b.N), "tx/import")
			b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
			if hwm := vmHWM(); hwm > 0 {
				b.ReportMetric(float64(hwm)/(1<<20), "VmHWM-MB")
			}
		})
	}
}

// sampleHeap records the highest HeapInuse until stop is called.
func sampleHeap(peak *atomic.Uint64) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			for {
				old := peak.Load()
				if ms.HeapInuse <= old || peak.CompareAndSwap(old, ms.HeapInuse) {
					break
				}
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}

// vmHWM is the process's peak RSS in bytes (Linux), 0 elsewhere.
func vmHWM() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb * 1024
		}
	}
	return 0
}
