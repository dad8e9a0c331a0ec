//! The order of a merged list, computed as Kubernetes computes it.
//!
//! After a merge, Kubernetes splits the list into the elements the patch (or its
//! `$setElementOrder`) names and the elements only the live object has. It sorts the first
//! group by the patch's order and the second by the live order, then interleaves them: a live
//! element goes before a patch element only when both are in the live list and it came first
//! there. Elements the live list lacks therefore come before the live elements not yet placed.
//!
//! The sort is Go's stable sort, reproduced move for move in [`go_stable_sort`]: the
//! comparison Kubernetes uses is not a strict order when an element is missing from the order
//! list, and only the same algorithm gives the same result then.

use std::collections::HashMap;

use serde_json::Value;

use super::{is_delete_directive, keyed_value, PatchError};

/// Splits `items` into those whose merge key appears in `by` and the rest, keeping order.
pub(super) fn partition_maps(
    items: Vec<Value>,
    by: &[Value],
    merge_key: &str,
) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    let mut named = Vec::with_capacity(items.len());
    let mut rest = Vec::new();
    for item in items {
        let value = keyed_value(&item, merge_key)?;
        if find_keyed(by, merge_key, value)? {
            named.push(item);
        } else {
            rest.push(item);
        }
    }
    Ok((named, rest))
}

/// Whether an object of `list` has `value` under `merge_key`. Every object before the match
/// must be an object.
fn find_keyed(list: &[Value], merge_key: &str, value: &Value) -> Result<bool, PatchError> {
    for (at, item) in list.iter().enumerate() {
        let Value::Object(map) = item else {
            return Err(PatchError::NotAMap(at));
        };
        if map.get(merge_key) == Some(value) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Splits scalar `items` into those `by` contains and the rest, keeping order; `None` when
/// either side holds objects or lists, which have no identity without a merge key.
pub(super) fn partition_scalars(
    items: Vec<Value>,
    by: &[Value],
) -> Option<(Vec<Value>, Vec<Value>)> {
    let composite = |v: &Value| v.is_object() || v.is_array();
    if items.iter().chain(by).any(composite) {
        return None;
    }
    let wanted: std::collections::HashSet<String> = by.iter().map(Value::to_string).collect();
    Some(
        items
            .into_iter()
            .partition(|v| wanted.contains(&v.to_string())),
    )
}

/// Orders the patch's elements by `patch_order` and the live-only elements by
/// `server_order`, then interleaves them.
pub(super) fn normalize_element_order(
    in_patch: Vec<Value>,
    server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    merge_key: &str,
    is_map: bool,
) -> Result<Vec<Value>, PatchError> {
    let in_patch = sort_by_order(in_patch, patch_order, merge_key, is_map)?;
    let server_only = sort_by_order(server_only, server_order, merge_key, is_map)?;
    Ok(interleave(
        server_only,
        in_patch,
        server_order,
        merge_key,
        is_map,
    ))
}

/// Sorts `items` by their position in `order`; an element `order` lacks compares as smaller
/// than anything, in both directions, as in Kubernetes. Deletion directives go last.
fn sort_by_order(
    items: Vec<Value>,
    order: &[Value],
    merge_key: &str,
    is_map: bool,
) -> Result<Vec<Value>, PatchError> {
    let (items, deletions) = if is_map {
        for item in items.iter().chain(order) {
            keyed_value(item, merge_key)?;
        }
        items.into_iter().partition(|v| !is_delete_directive(v))
    } else {
        (items, Vec::new())
    };
    let positions = Positions::of(order, merge_key, is_map);
    let mut ranked: Vec<(Option<usize>, Value)> =
        items.into_iter().map(|v| (positions.find(&v), v)).collect();
    go_stable_sort(
        &mut ranked,
        &|a: &(Option<usize>, Value), b: &(Option<usize>, Value)| match (a.0, b.0) {
            (Some(i), Some(j)) => i < j,
            _ => true,
        },
    );
    let mut sorted: Vec<Value> = ranked.into_iter().map(|(_, v)| v).collect();
    sorted.extend(deletions);
    Ok(sorted)
}

/// Merges the two sorted groups: a live-only element is taken first only when both it and
/// the patch element are in `server_order` and it comes earlier there.
fn interleave(
    server_only: Vec<Value>,
    in_patch: Vec<Value>,
    server_order: &[Value],
    merge_key: &str,
    is_map: bool,
) -> Vec<Value> {
    let positions = Positions::of(server_order, merge_key, is_map);
    let mut out = Vec::with_capacity(server_only.len() + in_patch.len());
    let rank = |v: Value| (positions.find(&v), v);
    let mut left = server_only.into_iter().map(rank).peekable();
    let mut right = in_patch.into_iter().map(rank).peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some((Some(l), _)), Some((Some(r), _))) => l < r,
            (Some(_), Some(_)) => false,
        };
        let next = if take_left { left.next() } else { right.next() };
        if let Some((_, value)) = next {
            out.push(value);
        }
    }
    out
}

/// The first position of each identity in a list: the merge key value for objects (absent
/// and `null` count as the same "no value"), the value itself for scalars.
struct Positions {
    first: HashMap<Option<String>, usize>,
    merge_key: String,
    is_map: bool,
}

impl Positions {
    fn of(list: &[Value], merge_key: &str, is_map: bool) -> Self {
        let mut first = HashMap::new();
        for (at, item) in list.iter().enumerate() {
            first.entry(identity(item, merge_key, is_map)).or_insert(at);
        }
        Self {
            first,
            merge_key: merge_key.to_string(),
            is_map,
        }
    }

    fn find(&self, item: &Value) -> Option<usize> {
        self.first
            .get(&identity(item, &self.merge_key, self.is_map))
            .copied()
    }
}

fn identity(item: &Value, merge_key: &str, is_map: bool) -> Option<String> {
    if is_map {
        item.get(merge_key)
            .filter(|v| !v.is_null())
            .map(Value::to_string)
    } else {
        Some(item.to_string())
    }
}

/// Go's stable sort (insertion-sorted blocks of 20 merged by SymMerge), with the same
/// comparisons and swaps, so that an inconsistent `less` gives Go's result too.
pub(super) fn go_stable_sort<T>(data: &mut [T], less: &impl Fn(&T, &T) -> bool) {
    const BLOCK: usize = 20;
    let n = data.len();
    let mut start = 0;
    while start + BLOCK <= n {
        insertion_sort(data, start, start + BLOCK, less);
        start += BLOCK;
    }
    insertion_sort(data, start, n, less);

    let mut block = BLOCK;
    while block < n {
        let mut a = 0;
        while a + 2 * block <= n {
            sym_merge(data, a, a + block, a + 2 * block, less);
            a += 2 * block;
        }
        if a + block < n {
            sym_merge(data, a, a + block, n, less);
        }
        block *= 2;
    }
}

fn is_less<T>(data: &[T], i: usize, j: usize, less: &impl Fn(&T, &T) -> bool) -> bool {
    match (data.get(i), data.get(j)) {
        (Some(x), Some(y)) => less(x, y),
        _ => false,
    }
}

fn swap<T>(data: &mut [T], i: usize, j: usize) {
    if i < data.len() && j < data.len() {
        data.swap(i, j);
    }
}

fn insertion_sort<T>(data: &mut [T], a: usize, b: usize, less: &impl Fn(&T, &T) -> bool) {
    for i in a + 1..b {
        let mut j = i;
        while j > a && is_less(data, j, j - 1, less) {
            swap(data, j, j - 1);
            j -= 1;
        }
    }
}

/// Merges the sorted runs `data[a..m]` and `data[m..b]` in place.
fn sym_merge<T>(data: &mut [T], a: usize, m: usize, b: usize, less: &impl Fn(&T, &T) -> bool) {
    if m - a == 1 {
        // Binary-search the slot of the single left element in the right run.
        let (mut i, mut j) = (m, b);
        while i < j {
            let h = (i + j) / 2;
            if is_less(data, h, a, less) {
                i = h + 1;
            } else {
                j = h;
            }
        }
        for k in a..i.saturating_sub(1) {
            swap(data, k, k + 1);
        }
        return;
    }
    if b - m == 1 {
        // Binary-search the slot of the single right element in the left run.
        let (mut i, mut j) = (a, m);
        while i < j {
            let h = (i + j) / 2;
            if !is_less(data, m, h, less) {
                i = h + 1;
            } else {
                j = h;
            }
        }
        let mut k = m;
        while k > i {
            swap(data, k, k - 1);
            k -= 1;
        }
        return;
    }
    let mid = (a + b) / 2;
    let n = mid + m;
    let (mut start, mut r) = if m > mid { (n - b, mid) } else { (a, m) };
    let p = n - 1;
    while start < r {
        let c = (start + r) / 2;
        if !is_less(data, p - c, c, less) {
            start = c + 1;
        } else {
            r = c;
        }
    }
    let end = n - start;
    if start < m && m < end {
        rotate(data, start, m, end);
    }
    if a < start && start < mid {
        sym_merge(data, a, start, mid, less);
    }
    if mid < end && end < b {
        sym_merge(data, mid, end, b, less);
    }
}

/// Rotates `data[a..b]` so that `data[m]` comes first, by block swaps.
fn rotate<T>(data: &mut [T], a: usize, m: usize, b: usize) {
    let mut i = m - a;
    let mut j = b - m;
    while i != j {
        if i > j {
            swap_range(data, m - i, m, j);
            i -= j;
        } else {
            swap_range(data, m - i, m + j - i, i);
            j -= i;
        }
    }
    swap_range(data, m - i, m, i);
}

fn swap_range<T>(data: &mut [T], a: usize, b: usize, n: usize) {
    for k in 0..n {
        swap(data, a + k, b + k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategic_merge::tests::Rng;

    #[test]
    fn go_stable_sort_is_a_stable_sort_for_consistent_orders() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for len in [0usize, 1, 2, 5, 19, 20, 21, 39, 40, 41, 64, 100, 257] {
            let mut data: Vec<(u64, usize)> = (0..len).map(|i| (rng.next() % 7, i)).collect();
            let mut expected = data.clone();
            expected.sort_by_key(|d| d.0);
            go_stable_sort(&mut data, &|x: &(u64, usize), y: &(u64, usize)| x.0 < y.0);
            assert_eq!(data, expected, "length {len}");
        }
    }

    #[test]
    fn go_stable_sort_with_an_always_true_less_reverses_small_inputs() {
        // Go's insertion sort swaps every pair when `less` always holds.
        let mut data = vec![1, 2, 3, 4];
        go_stable_sort(&mut data, &|_: &i32, _: &i32| true);
        assert_eq!(data, vec![4, 3, 2, 1]);
    }

    #[test]
    fn go_stable_sort_survives_inconsistent_orders_on_large_inputs() {
        let mut rng = Rng(7);
        for len in [21usize, 45, 100, 333] {
            let mut data: Vec<u64> = (0..len as u64).collect();
            let flips: Vec<u64> = (0..len).map(|_| rng.next()).collect();
            go_stable_sort(&mut data, &|x: &u64, y: &u64| {
                flips.get(*x as usize).copied().unwrap_or(0) % 3 == 0 || x < y
            });
            let mut seen = data.clone();
            seen.sort_unstable();
            assert_eq!(seen, (0..len as u64).collect::<Vec<_>>(), "a permutation");
        }
    }

    #[test]
    fn interleave_puts_new_patch_elements_first() {
        use serde_json::json;
        let server_order = [json!({"name": "a"}), json!({"name": "b"})];
        let cases = [
            // (server only, in patch, expected)
            (vec!["a", "b"], vec!["c"], vec!["c", "a", "b"]),
            (vec!["b"], vec!["a"], vec!["a", "b"]),
            (vec!["a"], vec!["b"], vec!["a", "b"]),
            (vec!["a"], vec!["c", "b"], vec!["c", "a", "b"]),
        ];
        let named =
            |names: &[&str]| -> Vec<Value> { names.iter().map(|n| json!({ "name": n })).collect() };
        for (left, right, expected) in cases {
            let got = interleave(named(&left), named(&right), &server_order, "name", true);
            assert_eq!(got, named(&expected), "{left:?} + {right:?}");
        }
    }
}
