package sandbox

import (
	"container/list"
	"crypto/sha256"
	"encoding/json"
	"sync"
)

// memo remembers renders that were stopped, keyed by what was asked (the
// revision, the environment's definition and the limits), so a job retried
// for the same head does not run a hostile render again. It holds at most
// max entries, dropping the least recently used.
type memo struct {
	mu    sync.Mutex
	max   int
	order *list.List
	byKey map[[32]byte]*list.Element
}

type memoEntry struct {
	key [32]byte
	err error
}

func newMemo(max int) *memo {
	return &memo{max: max, order: list.New(), byKey: map[[32]byte]*list.Element{}}
}

func memoKey(req request) ([32]byte, error) {
	data, err := json.Marshal(req)
	if err != nil {
		return [32]byte{}, err
	}
	return sha256.Sum256(data), nil
}

func (m *memo) get(key [32]byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.byKey[key]
	if !ok {
		return nil
	}
	m.order.MoveToFront(el)
	return el.Value.(*memoEntry).err
}

func (m *memo) put(key [32]byte, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.byKey[key]; ok {
		el.Value.(*memoEntry).err = err
		m.order.MoveToFront(el)
		return
	}
	m.byKey[key] = m.order.PushFront(&memoEntry{key: key, err: err})
	if m.order.Len() > m.max {
		last := m.order.Back()
		m.order.Remove(last)
		delete(m.byKey, last.Value.(*memoEntry).key)
	}
}
