//! Kubernetes' own strategic-merge fixtures, applied to a schema shaped like its test type:
//! each case is a live object, the patch Kubernetes sends, and the object it produces.

use super::*;

/// A hand-written schema node, mirroring the type Kubernetes' patch tests use.
#[derive(Clone, Copy)]
struct Item(&'static ItemDef);

struct ItemDef {
    name: &'static str,
    fields: &'static [ItemField],
}

struct ItemField {
    name: &'static str,
    shape: FieldShape,
    strategy: PatchStrategy,
    merge_key: Option<&'static str>,
    child: Option<&'static ItemDef>,
}

impl Schema for Item {
    fn field_info(&self, name: &str) -> Option<FieldInfo<Self>> {
        self.0
            .fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| FieldInfo {
                shape: f.shape,
                strategy: f.strategy,
                merge_key: f.merge_key,
                child: f.child.map(Item),
            })
    }

    fn type_name(&self) -> &'static str {
        self.0.name
    }
}

const fn field(
    name: &'static str,
    shape: FieldShape,
    strategy: PatchStrategy,
    merge_key: Option<&'static str>,
    child: Option<&'static ItemDef>,
) -> ItemField {
    ItemField {
        name,
        shape,
        strategy,
        merge_key,
        child,
    }
}

use FieldShape::{List, Map as MapShape, Object};
use PatchStrategy::{Merge, MergeRetainKeys, Replace, RetainKeys};

static MERGE_ITEM: ItemDef = ItemDef {
    name: "MergeItem",
    fields: &[
        field("mergingList", List, Merge, Some("name"), Some(&MERGE_ITEM)),
        field("nonMergingList", List, Replace, None, Some(&MERGE_ITEM)),
        field("mergingIntList", List, Merge, None, None),
        field("nonMergingIntList", List, Replace, None, None),
        field("simpleMap", MapShape, Replace, None, None),
        field(
            "retainKeysMap",
            Object,
            RetainKeys,
            None,
            Some(&RETAIN_KEYS_ITEM),
        ),
        field(
            "retainKeysMergingList",
            List,
            MergeRetainKeys,
            Some("name"),
            Some(&MERGE_ITEM),
        ),
    ],
};

static RETAIN_KEYS_ITEM: ItemDef = ItemDef {
    name: "RetainKeysMergeItem",
    fields: &[
        field("simpleMap", MapShape, Replace, None, None),
        field("mergingIntList", List, Merge, None, None),
        field("mergingList", List, Merge, Some("name"), Some(&MERGE_ITEM)),
        field("nonMergingList", List, Replace, None, Some(&MERGE_ITEM)),
    ],
};

/// What a case expects: the patched object, or an error whose message contains the text.
enum Want {
    Object(&'static str),
    Error(&'static str),
}

struct Case {
    name: &'static str,
    live: &'static str,
    patch: &'static str,
    want: Want,
}

fn run(cases: &[Case]) {
    for case in cases {
        let live = yaml(case.live);
        let patch = yaml(case.patch);
        let got = apply_with_schema(Some(Item(&MERGE_ITEM)), &live, &patch);
        match (&case.want, got) {
            (Want::Object(want), Ok(got)) => {
                assert_eq!(got, yaml(want), "{}", case.name);
            }
            (Want::Error(want), Err(err)) => {
                assert!(
                    err.to_string().contains(want),
                    "{}: error {err:?} lacks {want:?}",
                    case.name
                );
            }
            (Want::Object(_), Err(err)) => panic!("{}: unexpected error {err}", case.name),
            (Want::Error(want), Ok(got)) => {
                panic!("{}: expected error {want:?}, got {got}", case.name)
            }
        }
    }
}

use Want::{Error as Fails, Object as Gives};

#[test]
fn maps_and_simple_lists() {
    run(&[
        Case {
            name: "unique scalars when merging lists",
            live: "mergingIntList: [1, 2]",
            patch: "mergingIntList: [2, 3]",
            want: Gives("mergingIntList: [1, 2, 3]"),
        },
        Case {
            name: "delete map from nested map leaves it empty",
            live: "simpleMap: {key1: 1, key2: 1}",
            patch: "simpleMap: {$patch: delete}",
            want: Gives("simpleMap: {}"),
        },
        Case {
            name: "delete all items from merging list",
            live: "mergingList: [{name: 1}, {name: 2}]",
            patch: "mergingList: [{$patch: replace}]",
            want: Gives("mergingList: []"),
        },
        Case {
            name: "merge empty merging lists",
            live: "mergingList: []",
            patch: "mergingList: []",
            want: Gives("mergingList: []"),
        },
        Case {
            name: "delete all keys from map",
            live: "{name: 1, value: 1}",
            patch: "{$patch: replace}",
            want: Gives("{}"),
        },
        Case {
            name: "add key and delete all keys from map",
            live: "{name: 1, value: 1}",
            patch: "{other: a, $patch: replace}",
            want: Gives("{other: a}"),
        },
        Case {
            name: "delete all duplicate entries in a merging list",
            live: "mergingList: [{name: 1}, {name: 1}, {name: 2, value: a}, {name: 3}, {name: 3}]",
            patch: "mergingList: [{name: 1, $patch: delete}, {name: 3, $patch: delete}]",
            want: Gives("mergingList: [{name: 2, value: a}]"),
        },
        Case {
            name: "nil patch",
            live: "{name: 1}",
            patch: "{}",
            want: Gives("{name: 1}"),
        },
        Case {
            name: "add field and delete field from map",
            live: "{name: 1, other: a}",
            patch: "{name: null, value: 1}",
            want: Gives("{value: 1, other: a}"),
        },
        Case {
            name: "delete field from nested map",
            live: "simpleMap: {key1: 1, key2: 1, other: a}",
            patch: "simpleMap: {key2: null}",
            want: Gives("simpleMap: {key1: 1, other: a}"),
        },
        Case {
            name: "null for an absent key is not kept",
            live: "{name: a, other: a}",
            patch: "{name: 1, value: 1, other: null}",
            want: Gives("{name: 1, value: 1}"),
        },
        Case {
            name: "replace list of scalars",
            live: "nonMergingIntList: [1, 4]",
            patch: "nonMergingIntList: [2, 3]",
            want: Gives("nonMergingIntList: [2, 3]"),
        },
        Case {
            name: "delete all maps from merging list",
            live: "mergingList: [{name: 1, other: a}, {name: 2, other: b}]",
            patch: "mergingList: [{name: 1, $patch: delete}, {name: 2, $patch: delete}]",
            want: Gives("mergingList: []"),
        },
        Case {
            name: "delete all maps from empty merging list",
            live: "mergingList: []",
            patch: "mergingList: [{name: 1, $patch: delete}, {name: 2, $patch: delete}]",
            want: Gives("mergingList: []"),
        },
        Case {
            name: "nested patch merge with empty list",
            live: "{name: hi, mergingList: [{name: hello2}]}",
            patch: "
$setElementOrder/mergingList: [{name: hello}, {name: doesntexist}]
mergingList: [{name: hello}]",
            want: Gives("{name: hi, mergingList: [{name: hello}, {name: hello2}]}"),
        },
        Case {
            name: "a new list keeps no directive elements",
            live: "{name: hi}",
            patch: "mergingList: [{name: hello}, {$patch: delete, name: doesntexist}]",
            want: Gives("{name: hi, mergingList: [{name: hello}]}"),
        },
    ]);
}

#[test]
fn retain_keys() {
    run(&[
        Case {
            name: "retainKeys map can add a field when no retainKeys directive present",
            live: "retainKeysMap: {name: foo}",
            patch: "retainKeysMap: {value: bar}",
            want: Gives("retainKeysMap: {name: foo, value: bar}"),
        },
        Case {
            name: "retainKeys map can delete a field when no retainKeys directive present",
            live: "retainKeysMap: {name: foo, value: a}",
            patch: "retainKeysMap: {value: null}",
            want: Gives("retainKeysMap: {name: foo}"),
        },
        Case {
            name: "retainKeys map merge an empty map",
            live: "retainKeysMap: {name: foo, value: a}",
            patch: "retainKeysMap: {}",
            want: Gives("retainKeysMap: {name: foo, value: a}"),
        },
        Case {
            name: "retainKeys list can change a field when no retainKeys directive present",
            live: "retainKeysMergingList: [{name: bar}, {name: foo, value: a}]",
            patch: "retainKeysMergingList: [{name: foo, value: b}]",
            want: Gives("retainKeysMergingList: [{name: bar}, {name: foo, value: b}]"),
        },
        Case {
            name: "retainKeys map should clear defaulted field (discriminated union)",
            live: "retainKeysMap: {name: type1, value: foo}",
            patch: "retainKeysMap: {$retainKeys: [name, other], name: type2, other: bar}",
            want: Gives("retainKeysMap: {name: type2, other: bar}"),
        },
        Case {
            name: "retainKeys map deletes a field and clears a field",
            live: "retainKeysMap: {name: foo, value: bar, other: a}",
            patch: "retainKeysMap: {$retainKeys: [name], value: null}",
            want: Gives("retainKeysMap: {name: foo}"),
        },
        Case {
            name: "retainKeys map adds a field in a nested map",
            live: "retainKeysMap: {name: foo, value: bar, simpleMap: {key1: a, key3: c}}",
            patch: "retainKeysMap: {$retainKeys: [name, simpleMap, value], simpleMap: {key2: b}}",
            want: Gives(
                "retainKeysMap: {name: foo, value: bar, simpleMap: {key1: a, key2: b, key3: c}}",
            ),
        },
        Case {
            name: "retainKeys map adds an item and deletes an item in nested merging int list",
            live: "retainKeysMap: {name: foo, mergingIntList: [1, 2, 3, 4]}",
            patch: "
retainKeysMap:
  $retainKeys: [mergingIntList, name]
  mergingIntList: [5]
  $deleteFromPrimitiveList/mergingIntList: [2]
  $setElementOrder/mergingIntList: [1, 3, 5]",
            want: Gives("retainKeysMap: {name: foo, mergingIntList: [1, 3, 5, 4]}"),
        },
        Case {
            name: "retainKeys map deletes an item in nested merging list",
            live: "retainKeysMap: {name: foo, mergingList: [{name: a}, {name: b}, {name: x}]}",
            patch: "
retainKeysMap:
  $retainKeys: [mergingList, name]
  $setElementOrder/mergingList: [{name: a}]
  mergingList: [{name: b, $patch: delete}]",
            want: Gives("retainKeysMap: {name: foo, mergingList: [{name: a}, {name: x}]}"),
        },
        Case {
            name: "retainKeys list of maps clears a field",
            live: "retainKeysMergingList: [{name: bar}, {name: foo, value: a, other: x}]",
            patch: "
$setElementOrder/retainKeysMergingList: [{name: bar}, {name: foo}]
retainKeysMergingList: [{$retainKeys: [name, value], name: foo}]",
            want: Gives("retainKeysMergingList: [{name: bar}, {name: foo, value: a}]"),
        },
        Case {
            name: "retainKeys list of maps deletes a field and clears a field",
            live: "retainKeysMergingList: [{name: bar}, {name: foo, value: a, other: x}]",
            patch: "
$setElementOrder/retainKeysMergingList: [{name: bar}, {name: foo}]
retainKeysMergingList: [{$retainKeys: [name], name: foo, value: null}]",
            want: Gives("retainKeysMergingList: [{name: bar}, {name: foo}]"),
        },
        Case {
            name: "retainKeys must name every key the patch sets",
            live: "retainKeysMap: {name: foo}",
            patch: "retainKeysMap: {$retainKeys: [name], value: bar}",
            want: Fails("invalid patch format of retainKeys"),
        },
        Case {
            name: "retainKeys must be a list",
            live: "retainKeysMap: {name: foo}",
            patch: "retainKeysMap: {$retainKeys: name}",
            want: Fails("invalid patch format of retainKeys"),
        },
    ]);
}

#[test]
fn element_order() {
    run(&[
        Case {
            name: "preserve the order from the patch in a merging list",
            live: "mergingList: [{name: 1}, {name: 2, value: b}, {name: 3}]",
            patch: "mergingList: [{name: 3, value: c}, {name: 1, value: a}, {name: 2, other: x}]",
            want: Gives(
                "mergingList: [{name: 3, value: c}, {name: 1, value: a}, {name: 2, value: b, other: x}]",
            ),
        },
        Case {
            name: "preserve the order from the patch in a merging list 2",
            live: "mergingList: [{name: 1}, {name: 2, value: b}, {name: 3}]",
            patch: "mergingList: [{name: 3, value: c}, {name: 1, value: a}]",
            want: Gives(
                "mergingList: [{name: 2, value: b}, {name: 3, value: c}, {name: 1, value: a}]",
            ),
        },
        Case {
            name: "preserve the order from the patch in a merging int list",
            live: "mergingIntList: [1, 2, 3]",
            patch: "mergingIntList: [3, 1]",
            want: Gives("mergingIntList: [2, 3, 1]"),
        },
        Case {
            name: "a new element goes before the live ones",
            live: "mergingList: [{name: 1}, {name: 2}]",
            patch: "mergingList: [{name: 3}]",
            want: Gives("mergingList: [{name: 3}, {name: 1}, {name: 2}]"),
        },
        Case {
            name: "$setElementOrder contains item that is not present in the list to be merged",
            live: "mergingList: [{name: 1}, {name: 3}]",
            patch: "
$setElementOrder/mergingList: [{name: 3}, {name: 2}, {name: 1}]
mergingList: [{name: 3, value: 3}, {name: 1, value: 1}]",
            want: Gives("mergingList: [{name: 3, value: 3}, {name: 1, value: 1}]"),
        },
        Case {
            name: "$setElementOrder contains item that is not present in the int list",
            live: "mergingIntList: [1, 3]",
            patch: "$setElementOrder/mergingIntList: [3, 2, 1]",
            want: Gives("mergingIntList: [3, 1]"),
        },
        Case {
            name: "merge lists of maps",
            live: "mergingList: [{name: 1, other: a}, {name: 2, value: 2, other: b}]",
            patch: "
$setElementOrder/mergingList: [{name: 4}, {name: 1}, {name: 2}, {name: 3}]
mergingList: [{name: 4, value: 4}, {name: 3, value: 3}]",
            want: Gives(
                "mergingList: [{name: 4, value: 4}, {name: 1, other: a}, {name: 2, value: 2, other: b}, {name: 3, value: 3}]",
            ),
        },
        Case {
            name: "add field to map in merging list with conflict",
            live: "mergingList: [{name: 1, other: a}, {name: 3, value: 2, other: b}]",
            patch: "
$setElementOrder/mergingList: [{name: 1}, {name: 2}]
mergingList: [{name: 1, value: 1}, {name: 2, value: 2}]",
            want: Gives(
                "mergingList: [{name: 1, value: 1, other: a}, {name: 2, value: 2}, {name: 3, value: 2, other: b}]",
            ),
        },
        Case {
            name: "delete missing map from merging list with conflict",
            live: "mergingList: [{name: 3, other: a}]",
            patch: "
$setElementOrder/mergingList: [{name: 2}]
mergingList: [{name: 2}, {name: 1, $patch: delete}]",
            want: Gives("mergingList: [{name: 2}, {name: 3, other: a}]"),
        },
        Case {
            name: "add map and delete map from merging list",
            live: "mergingList: [{name: 1}, {name: 2, other: b}, {name: 4, other: c}]",
            patch: "
$setElementOrder/mergingList: [{name: 2}, {name: 3}]
mergingList: [{name: 3}, {name: 1, $patch: delete}]",
            want: Gives("mergingList: [{name: 2, other: b}, {name: 4, other: c}, {name: 3}]"),
        },
        Case {
            name: "add map and delete map from merging list with conflict",
            live: "mergingList: [{name: 1, other: a}, {name: 4, other: c}]",
            patch: "
$setElementOrder/mergingList: [{name: 2}, {name: 3}]
mergingList: [{name: 2}, {name: 3}, {name: 1, $patch: delete}]",
            want: Gives("mergingList: [{name: 4, other: c}, {name: 2}, {name: 3}]"),
        },
        Case {
            name: "replace non merging list nested in merging list",
            live: "mergingList: [{name: 1, other: a, nonMergingList: [{name: 1}, {name: 2, value: 2}]}, {name: 2, other: b}]",
            patch: "
$setElementOrder/mergingList: [{name: 1}, {name: 2}]
mergingList: [{name: 1, nonMergingList: [{name: 1, value: 1}]}]",
            want: Gives(
                "mergingList: [{name: 1, other: a, nonMergingList: [{name: 1, value: 1}]}, {name: 2, other: b}]",
            ),
        },
        Case {
            name: "add field to map in merging list nested in merging list with deletion conflict",
            live: "mergingList: [{name: 1, other: a, mergingList: [{name: 2, value: 2, other: d}]}, {name: 2, other: b}]",
            patch: "
$setElementOrder/mergingList: [{name: 1}, {name: 2}]
mergingList:
- $setElementOrder/mergingList: [{name: 2}, {name: 1}]
  name: 1
  mergingList: [{name: 1, value: 1}]",
            want: Gives(
                "mergingList: [{name: 1, other: a, mergingList: [{name: 2, value: 2, other: d}, {name: 1, value: 1}]}, {name: 2, other: b}]",
            ),
        },
        Case {
            name: "merge lists of scalars",
            live: "mergingIntList: [1, 2, 4]",
            patch: "{$setElementOrder/mergingIntList: [1, 2, 3], mergingIntList: [3]}",
            want: Gives("mergingIntList: [1, 2, 3, 4]"),
        },
        Case {
            name: "add an item in a list of primitives and preserve order",
            live: "mergingIntList: [1, 4, 2]",
            patch: "{$setElementOrder/mergingIntList: [3, 1, 2], mergingIntList: [3]}",
            want: Gives("mergingIntList: [3, 1, 4, 2]"),
        },
        Case {
            name: "add and delete an item in a list and preserve order",
            live: "mergingList: [{name: 1, other: a}, {name: 2, value: 2, other: b}, {name: 3, value: 3}]",
            patch: "
$setElementOrder/mergingList: [{name: 4}, {name: 2}, {name: 1}]
mergingList: [{name: 4, value: 4}, {name: 3, $patch: delete}]",
            want: Gives(
                "mergingList: [{name: 4, value: 4}, {name: 2, value: 2, other: b}, {name: 1, other: a}]",
            ),
        },
        Case {
            name: "set elements order in a list with server-only items 3",
            live: "mergingList: [{name: 1, other: a}, {name: 2}, {name: 7}, {name: 9}, {name: 8}, {name: 3}, {name: 4}]",
            patch: "$setElementOrder/mergingList: [{name: 2}, {name: 1}, {name: 4}, {name: 3}]",
            want: Gives(
                "mergingList: [{name: 2}, {name: 1, other: a}, {name: 7}, {name: 9}, {name: 8}, {name: 4}, {name: 3}]",
            ),
        },
        Case {
            name: "set elements order in a int list with server-only items 2",
            live: "mergingIntList: [1, 2, 9, 3, 4]",
            patch: "$setElementOrder/mergingIntList: [2, 1, 4, 3]",
            want: Gives("mergingIntList: [2, 1, 9, 4, 3]"),
        },
        Case {
            name: "set element order for a merging list with duplicates",
            live: "mergingList: [{name: 1}, {name: 2, value: dup1}, {name: 3}, {name: 2, value: dup2}, {name: 4}]",
            patch: "$setElementOrder/mergingList: [{name: 2}, {name: 1}, {name: 4}, {name: 3}, {name: 2}]",
            want: Gives(
                "mergingList: [{name: 2, value: dup1}, {name: 2, value: dup2}, {name: 1}, {name: 4}, {name: 3}]",
            ),
        },
        Case {
            name: "set element order for a merging int list with duplicates",
            live: "mergingIntList: [1, 2, 3, 2, 4]",
            patch: "$setElementOrder/mergingIntList: [2, 1, 4, 3, 2]",
            want: Gives("mergingIntList: [2, 2, 1, 4, 3]"),
        },
        Case {
            name: "delete and reorder in one list, reorder in another",
            live: "{mergingList: [{name: a}, {name: b}], retainKeysMergingList: [{name: c}, {name: d}]}",
            patch: "
$setElementOrder/mergingList: [{name: b}]
$setElementOrder/retainKeysMergingList: [{name: d}, {name: c}]
mergingList: [{$patch: delete, name: a}]",
            want: Gives("{mergingList: [{name: b}], retainKeysMergingList: [{name: d}, {name: c}]}"),
        },
        Case {
            name: "should check if order in $setElementOrder and patch list match",
            live: "mergingList: [{name: 1}, {name: 3}, {name: 2}]",
            patch: "
$setElementOrder/mergingList: [{name: 1}, {name: 2}, {name: 3}]
mergingList: [{name: 3, value: 3}, {name: 1, value: 1}]",
            want: Fails("doesn't match"),
        },
        Case {
            name: "should check if order in $setElementOrder and patch int list match",
            live: "mergingIntList: [1, 3, 2]",
            patch: "{$setElementOrder/mergingIntList: [1, 2, 3], mergingIntList: [3, 1]}",
            want: Fails("doesn't match"),
        },
    ]);
}

#[test]
fn primitive_list_deletions() {
    run(&[
        Case {
            name: "$deleteFromPrimitiveList of nonexistent item should not add it",
            live: "mergingIntList: [1, 2]",
            patch: "$deleteFromPrimitiveList/mergingIntList: [3]",
            want: Gives("mergingIntList: [1, 2]"),
        },
        Case {
            name: "$deleteFromPrimitiveList on empty primitive list should not add the item",
            live: "mergingIntList: null",
            patch: "$deleteFromPrimitiveList/mergingIntList: [3]",
            want: Gives("mergingIntList: null"),
        },
        Case {
            name: "$deleteFromPrimitiveList on nonexistent primitive list should not add it",
            live: "foo: [bar]",
            patch: "$deleteFromPrimitiveList/mergingIntList: [3]",
            want: Gives("foo: [bar]"),
        },
        Case {
            name: "$deleteFromPrimitiveList deletes from a list with merge strategy",
            live: "mergingIntList: [1, 2, 3]",
            patch: "$deleteFromPrimitiveList/mergingIntList: [2]",
            want: Gives("mergingIntList: [1, 3]"),
        },
        Case {
            name: "$deleteFromPrimitiveList deletes from a list without merge strategy",
            live: "nonMergingIntList: [1, 2, 3]",
            patch: "$deleteFromPrimitiveList/nonMergingIntList: [2]",
            want: Gives("nonMergingIntList: [1, 3]"),
        },
        Case {
            name: "delete all duplicate items in lists of scalars",
            live: "mergingIntList: [1, 2, 3, 3, 4]",
            patch: "{$setElementOrder/mergingIntList: [1, 2], $deleteFromPrimitiveList/mergingIntList: [3]}",
            want: Gives("mergingIntList: [1, 2, 4]"),
        },
        Case {
            name: "add and delete an item in a int list and preserve order",
            live: "mergingIntList: [1, 2, 3]",
            patch: "
$setElementOrder/mergingIntList: [4, 2, 1]
mergingIntList: [4]
$deleteFromPrimitiveList/mergingIntList: [3]",
            want: Gives("mergingIntList: [4, 2, 1]"),
        },
        Case {
            name: "a null deletion list removes the list, as in Kubernetes",
            live: "mergingIntList: [1, 2]",
            patch: "$deleteFromPrimitiveList/mergingIntList: null",
            want: Gives("{}"),
        },
        Case {
            name: "a deletion list without a field name",
            live: "mergingIntList: [1, 2]",
            patch: "$deleteFromPrimitiveList: [1]",
            want: Fails("invalid patch format of primitive list"),
        },
    ]);
}

#[test]
fn malformed_patches() {
    run(&[
        Case {
            name: "missing merge key",
            live: "mergingList: [{name: 1, value: a}]",
            patch: "mergingList: [{value: b}]",
            want: Fails("map: map[value:b] does not contain declared merge key: name"),
        },
        Case {
            name: "delete directive without merge key",
            live: "mergingList: [{name: 1}]",
            patch: "mergingList: [{$patch: delete, value: b}]",
            want: Fails(
                "map: map[$patch:delete value:b] does not contain declared merge key: name",
            ),
        },
        Case {
            name: "merge directive in a list",
            live: "mergingList: [{name: 1}]",
            patch: "mergingList: [{$patch: merge, name: 1}]",
            want: Fails("merging lists cannot yet be specified in the patch"),
        },
        Case {
            name: "unknown directive in a list",
            live: "mergingList: [{name: 1}]",
            patch: "mergingList: [{$patch: explode, name: 1}]",
            want: Fails("unknown patch type: explode in map: map[$patch:explode name:1]"),
        },
        Case {
            name: "unknown directive in a map",
            live: "simpleMap: {a: b}",
            patch: "simpleMap: {$patch: 7}",
            want: Fails("unknown patch type: %!s(int64=7) in map: map[$patch:7]"),
        },
        Case {
            name: "merge directive in a map",
            live: "simpleMap: {a: b}",
            patch: "simpleMap: {$patch: merge, c: d}",
            want: Fails("unknown patch type: merge in map: map[$patch:merge c:d]"),
        },
        Case {
            name: "$setElementOrder must be a list",
            live: "mergingList: [{name: 1}]",
            patch: "$setElementOrder/mergingList: {name: 1}",
            want: Fails("expected a []interface {}, but received a map[string]interface {}"),
        },
        Case {
            name: "$setElementOrder must name a field",
            live: "mergingList: [{name: 1}]",
            patch: "$setElementOrder: [{name: 1}]",
            want: Fails("invalid patch format of setElementOrder list"),
        },
        Case {
            name: "$setElementOrder elements must carry the merge key",
            live: "mergingList: [{name: 1}]",
            patch: "{$setElementOrder/mergingList: [{value: 1}], mergingList: [{name: 1}]}",
            want: Fails("map: map[value:1] does not contain declared merge key: name"),
        },
        Case {
            name: "$setElementOrder over lists empty on both sides",
            live: "mergingIntList: []",
            patch: "$setElementOrder/mergingIntList: [1]",
            want: Fails("no elements in any of the given slices"),
        },
        Case {
            name: "lists of lists",
            live: "mergingIntList: [[1]]",
            patch: "mergingIntList: [[2]]",
            want: Fails("lists of lists are not supported"),
        },
        Case {
            name: "element types differ",
            live: "mergingIntList: [1]",
            patch: "mergingIntList: [a]",
            want: Fails("list element types are not identical: [[1] [a]]"),
        },
        Case {
            name: "objects in a merged list without merge key",
            live: "mergingIntList: [{a: 1}]",
            patch: "mergingIntList: [{a: 2}]",
            want: Fails("cannot merge lists without merge key for mergingIntList"),
        },
    ]);
}
