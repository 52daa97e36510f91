// Package httppool holds the one HTTP transport the storage drivers share:
// one pool of connections per process, tuned for one busy host. A process
// that opens a bucket per task (the operator opens one per controller
// sync) would otherwise keep each open's idle connections, two goroutines
// and their buffers apiece, until they timed out.
package httppool

import (
	"net/http"
	"sync"
	"time"
)

// Tune sets what every driver's transport needs: all traffic goes to one
// host from several transfers at once, and a store that accepts a request
// but never answers must not hold it for ever.
func Tune(t *http.Transport) {
	t.MaxIdleConnsPerHost = 16
	t.ResponseHeaderTimeout = 2 * time.Minute
}

// Transport is the process's shared transport, made on first use.
var Transport = sync.OnceValue(func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	Tune(t)
	return t
})
