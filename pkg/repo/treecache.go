package repo

import (
	"container/list"
	"sync"
)

// treeCacheBytes bounds the decrypted tree blobs kept in memory. Incremental
// backups read the parent's trees directory by directory, and check/prune
// walk shared subtrees, so a small cache saves many ranged reads.
const treeCacheBytes = 16 << 20

// treeCache is a size-bounded LRU of verified tree blob plaintexts. Cached
// slices are shared: callers must not modify what LoadBlob returns for trees.
type treeCache struct {
	mu    sync.Mutex
	max   int
	size  int
	order *list.List // front = most recent; values are *treeEntry
	items map[ID]*list.Element
}

type treeEntry struct {
	id   ID
	data []byte
}

func newTreeCache(max int) *treeCache {
	return &treeCache{max: max, order: list.New(), items: map[ID]*list.Element{}}
}

func (c *treeCache) get(id ID) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[id]; ok {
		c.order.MoveToFront(el)
		return el.Value.(*treeEntry).data, true
	}
	return nil, false
}

func (c *treeCache) add(id ID, data []byte) {
	if len(data) > c.max/8 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[id]; ok {
		return
	}
	c.items[id] = c.order.PushFront(&treeEntry{id: id, data: data})
	c.size += len(data)
	for c.size > c.max {
		el := c.order.Back()
		e := el.Value.(*treeEntry)
		c.order.Remove(el)
		delete(c.items, e.id)
		c.size -= len(e.data)
	}
}
