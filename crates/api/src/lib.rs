//! The dialects: each vendor's HTTP wire format over the dialect-neutral service.
//!
//! A dialect verifies the request's signature, decodes its parameters into a typed request,
//! calls the service, and renders the answer — or the error, mapped to the vendor's code in
//! one place per dialect. It holds no business logic.
//!
//! - [`signature`]: request signing schemes (Alibaba RPC HMAC-SHA1).
//! - [`cloudflow`]: Alibaba Cloud CloudFlow, API `fnf` 2019-03-15.
//! - [`huawei`]: Huawei Cloud REST services (GES), with SDK-HMAC-SHA256 signatures.
//! - [`http`]: the router serving every dialect.
//! - [`echo`]: the bound on what error messages echo of a request.

pub mod cloudflow;
pub mod echo;
pub mod http;
pub mod huawei;
pub mod signature;
