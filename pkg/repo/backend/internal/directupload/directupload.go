// Package directupload holds the one marker by which a cairn blob driver
// says that its blob.Bucket.Upload, given a *bytes.Reader, sends the
// reader's memory in a single request instead of copying it into a write
// buffer first. The engine's Backend.Put asks every bucket for it, so a
// 15 MiB pack goes from the caller's slice to the network on every store
// that can do so (s3://, azblob://, gs://), and through a writer on the
// others (file://, mem://).
package directupload

// Marker is what a driver's As recognises: blob.Bucket.As(&m) sets m to
// true on a bucket whose Upload of a *bytes.Reader goes up in one request
// from the reader's own memory.
type Marker bool

// Answer is a driver's As for the marker: it sets *Marker to true and
// reports whether i was one.
func Answer(i any) bool {
	m, ok := i.(*Marker)
	if ok {
		*m = true
	}
	return ok
}
