package ansible

import (
	"context"

	"github.com/tana-cmdb/tana/inventory"
)

// eachHost calls fn for every host, in name order across all host types,
// each name once (the first host type listing it wins). One host type is
// read directly; several are read side by side, one Store.Each each, and
// merged, so that the output stays sorted without holding entries.
func (inv *Inventory) eachHost(ctx context.Context, fn func(*host) error) error {
	if len(inv.hostTypes) == 1 {
		h := inv.hostTypes[0].newHost()
		return inv.store.EachRawVisible(ctx, h.ht.t.Name, h.ht.rows, func(e *inventory.RawEntry) error {
			if err := h.load(e); err != nil {
				return err
			}
			if !inv.included(h) {
				return nil
			}
			return fn(h)
		})
	}
	ctx, cancel := context.WithCancel(ctx)
	streams := make([]*stream, len(inv.hostTypes))
	for i, ht := range inv.hostTypes {
		streams[i] = inv.startStream(ctx, ht)
	}
	defer func() {
		cancel()
		for _, s := range streams {
			s.wait()
		}
	}()
	for _, s := range streams {
		if err := s.advance(); err != nil {
			return err
		}
	}
	last, first := "", true
	for {
		var min *stream
		for _, s := range streams {
			if s.head != nil && (min == nil || s.head.name < min.head.name) {
				min = s
			}
		}
		if min == nil {
			return nil
		}
		if first || min.head.name != last {
			if err := fn(min.head); err != nil {
				return err
			}
		} else {
			inv.warn("ansible inventory: %s %q skipped: a host of that name is already listed", min.ht.t.Name, min.head.name)
		}
		last, first = min.head.name, false
		if err := min.advance(); err != nil {
			return err
		}
	}
}

// stream is one host type's included entries, read in a goroutine.
type stream struct {
	ht   *hostType
	ch   chan *host
	errc chan error
	head *host // nil once exhausted
	done bool
}

func (inv *Inventory) startStream(ctx context.Context, ht *hostType) *stream {
	s := &stream{ht: ht, ch: make(chan *host, 256), errc: make(chan error, 1)}
	go func() {
		defer close(s.ch)
		s.errc <- inv.store.EachRawVisible(ctx, ht.t.Name, ht.rows, func(e *inventory.RawEntry) error {
			h := ht.newHost()
			if err := h.load(e); err != nil {
				return err
			}
			if !inv.included(h) {
				return nil
			}
			select {
			case s.ch <- h:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	return s
}

// advance moves to the next entry; at the end it returns the reader's error.
func (s *stream) advance() error {
	e, ok := <-s.ch
	if ok {
		s.head = e
		return nil
	}
	s.head, s.done = nil, true
	return <-s.errc
}

// wait lets the reader finish (after a cancel) so none outlives List.
func (s *stream) wait() {
	if s.done {
		return
	}
	for range s.ch {
	}
	<-s.errc //nolint:errcheck // the cancel ended it: the walk returns the error that stopped it
}
