//! `ItemBatcher`, as CloudFlow and the Amazon States Language both spell it: a child's input
//! is a batch of at most `MaxItemsPerBatch` items and `MaxInputBytesPerBatch` bytes, with
//! `BatchInput` beside them.

use sluice_ir::ItemBatcher;

use super::Fields;
use crate::doc::Node;
use crate::error::Problem;

/// The fields both languages give an `ItemBatcher`.
pub(crate) const ITEM_BATCHER_FIELDS: &[&str] =
    &["MaxItemsPerBatch", "MaxInputBytesPerBatch", "BatchInput"];

/// An `ItemBatcher` of `fields` (checked by the caller against its language's fields).
pub(crate) fn item_batcher(node: &Node, fields: &Fields<'_>) -> Result<ItemBatcher, Problem> {
    let bound = |key: &str| -> Result<u64, Problem> {
        fields
            .get(key)
            .map_or(Ok(0), |n| n.as_int_in(1, i64::from(u32::MAX)))
            .map(|v| u64::try_from(v).unwrap_or(0))
    };
    let max_items = bound("MaxItemsPerBatch")?;
    let max_bytes = bound("MaxInputBytesPerBatch")?;
    if max_items == 0 && max_bytes == 0 {
        return Err(Problem::at(
            node.loc,
            "an ItemBatcher needs MaxItemsPerBatch or MaxInputBytesPerBatch",
        ));
    }
    Ok(ItemBatcher {
        max_items: u32::try_from(max_items).unwrap_or(u32::MAX),
        max_bytes,
        batch_input: fields.get("BatchInput").map(Node::to_json),
    })
}
