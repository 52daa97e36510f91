package chunker

// cursor is the resumable state of one boundary search: how many bytes of
// the chunk-to-be have been hashed and the gear hash at that point. The
// hash depends only on the last 64 bytes, so continuing from a saved cursor
// finds exactly the boundary a search over the whole data would find.
type cursor struct {
	pos int
	h   uint64
}

// resume continues the boundary search over data, which starts at the
// beginning of the chunk and has grown since the last call with the same
// cursor. It returns the chunk length, or 0 when more input is needed. Its
// answers are always the same as Cut's on the same data; the difference is
// that each byte is hashed once however often the data grows.
func (c *Chunker) resume(data []byte, final bool, cur *cursor) int {
	n := len(data)
	p := c.params
	if n <= p.Min {
		if final || n == p.Min && p.Min == p.Max {
			return n
		}
		return 0
	}
	limit := min(n, p.Max)
	normal := min(p.Avg, limit)
	if cur.pos == 0 {
		// Warm the hash up on the 64 bytes before Min, as Cut does.
		h := uint64(0)
		for i := max(p.Min-64, 0); i < p.Min; i++ {
			h = (h << 1) + c.gear[data[i]]
		}
		cur.pos, cur.h = p.Min, h
	}
	if cur.pos < normal {
		pos, h, ok := c.scan(data, cur.pos, normal, cur.h, c.maskS)
		if ok {
			return pos
		}
		cur.pos, cur.h = normal, h
	}
	if cur.pos < limit && cur.pos >= p.Avg {
		pos, h, ok := c.scan(data, cur.pos, limit, cur.h, c.maskL)
		if ok {
			return pos
		}
		cur.pos, cur.h = limit, h
	}
	if limit == p.Max || final {
		return limit
	}
	return 0
}
