//! vppinfra's `pool`: a vector with holes whose freed indexes are handed out
//! again last-freed-first. lb's VIP indexes (the `[n]` of `show lb vips`,
//! the stats column), AS indexes and each VIP's AS list all come from pools,
//! so the reuse order is visible to clients.

#[derive(Clone, Debug)]
pub(crate) struct Pool<T> {
    slots: Vec<Option<T>>,
    free: Vec<usize>,
}

impl<T> Default for Pool<T> {
    fn default() -> Self {
        Pool {
            slots: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T> Pool<T> {
    /// `pool_get`: the most recently freed index, else a new one at the end.
    pub(crate) fn insert(&mut self, value: T) -> usize {
        while let Some(index) = self.free.pop() {
            if let Some(slot) = self.slots.get_mut(index) {
                *slot = Some(value);
                return index;
            }
        }
        self.slots.push(Some(value));
        self.slots.len() - 1
    }

    /// `pool_put`.
    pub(crate) fn remove(&mut self, index: usize) -> Option<T> {
        let taken = self.slots.get_mut(index).and_then(Option::take);
        if taken.is_some() {
            self.free.push(index);
        }
        taken
    }

    pub(crate) fn get(&self, index: usize) -> Option<&T> {
        self.slots.get(index).and_then(Option::as_ref)
    }

    pub(crate) fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        self.slots.get_mut(index).and_then(Option::as_mut)
    }

    /// `pool_foreach`: live elements in index order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, &T)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(index, slot)| slot.as_ref().map(|value| (index, value)))
    }

    /// One past the highest index ever handed out (`vec_len` of the pool).
    pub(crate) fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// `pool_elts`.
    pub(crate) fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }
}

#[cfg(test)]
mod tests {
    use super::Pool;

    #[test]
    fn reuses_last_freed_first() {
        let mut pool = Pool::default();
        for value in 0..5 {
            assert_eq!(pool.insert(value), value);
        }
        assert_eq!(pool.remove(1), Some(1));
        assert_eq!(pool.remove(3), Some(3));
        assert_eq!(pool.remove(3), None);
        assert_eq!(pool.len(), 3);
        assert_eq!(pool.insert(30), 3);
        assert_eq!(pool.insert(10), 1);
        assert_eq!(pool.insert(50), 5);
        let order: Vec<usize> = pool.iter().map(|(i, _)| i).collect();
        assert_eq!(order, [0, 1, 2, 3, 4, 5]);
    }
}
