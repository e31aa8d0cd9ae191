package inventory

import "sync"

// nameCache keeps the names of referenced entries between reads, so that
// naming an entry's references (a VM's host and cluster) needs no query
// once the names are known: a few hosts and clusters serve thousands of
// VMs.
//
// A name is only right as of some state of the database. Every
// transaction that renames entries adds one to name_epoch as it commits,
// and reads select the epoch beside their rows; names loaded at an epoch
// are what every read at that epoch sees. The cache holds the names of
// one epoch and serves reads of that epoch only, so a rename, by this
// store or any other process, is seen by the next read. Reads inside a
// transaction, which may see their own uncommitted renames, neither use
// nor fill it.
type nameCache struct {
	mu    sync.Mutex
	epoch int64
	names map[int64]string
}

// maxCachedNames bounds the cache: past it, it starts over.
const maxCachedNames = 100_000

// lookup fills names with the cached names of ids, if the cache holds
// epoch, and returns the ids it does not know.
func (c *nameCache) lookup(epoch int64, ids []int64, names map[int64]string) []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if epoch == 0 || epoch != c.epoch {
		return ids
	}
	missing := ids[:0]
	for _, id := range ids {
		if n, ok := c.names[id]; ok {
			names[id] = n
		} else {
			missing = append(missing, id)
		}
	}
	return missing
}

// keep caches the names of ids, loaded at epoch. Names of another epoch
// than the cache's replace it: usually a newer one, but an older one too
// (a database restored from a backup goes back), so that the cache never
// outlives the state it was read from.
func (c *nameCache) keep(epoch int64, ids []int64, names map[int64]string) {
	if epoch == 0 || len(ids) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if epoch != c.epoch || len(c.names)+len(ids) > maxCachedNames {
		c.epoch, c.names = epoch, make(map[int64]string, len(ids))
	}
	for _, id := range ids {
		if n := names[id]; n != "" {
			c.names[id] = n
		}
	}
}
