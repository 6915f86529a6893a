//! Pages of listings as the dialects cut them: a listing asks the service for one item more
//! than the page, so that whether there is a next page is known without a count.

/// The first `limit` items, and the cursor of the next page if there is more.
pub fn page<T>(
    mut items: Vec<T>,
    limit: usize,
    cursor: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    if items.len() <= limit {
        return (items, None);
    }
    items.truncate(limit);
    let next = items.last().map(cursor);
    (items, next)
}
