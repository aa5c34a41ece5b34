//! One plain-HTTP request on a connection of its own, through hyper's connection API.
//!
//! A probe never reuses a connection, so the pool, the per-request service stack and
//! the URL conversions of a general client are pure cost here: with them a round of
//! 10,000 loopback checks took twice the CPU. hyper-util's connector still resolves
//! names, tries every address (IPv6 and IPv4 side by side) and sets `TCP_NODELAY`.

use std::error::Error as StdError;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, Url};
use tokio_util::task::AbortOnDropHandle;
use tower_service::Service;

use crate::probe::DEFAULT_USER_AGENT;

type BoxError = Box<dyn StdError + Send + Sync>;

/// Opens the connections of plain-HTTP probes.
pub struct Connector {
    inner: HttpConnector,
}

impl Connector {
    /// Connections leave from `source` when given.
    pub fn new(source: Option<std::net::IpAddr>) -> Connector {
        let mut inner = HttpConnector::new();
        inner.set_nodelay(true);
        inner.set_local_address(source);
        Connector { inner }
    }

    /// Connect to `url`'s host, send one request and read the answer's head. The
    /// connection closes when the returned body is dropped.
    pub async fn send(
        &self,
        method: &Method,
        url: &Url,
        mut headers: HeaderMap,
    ) -> Result<hyper::Response<Body>, BoxError> {
        let authority = match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => return Err("the address has no host".into()),
        };
        let target = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        let uri: hyper::Uri = format!("http://{authority}{target}").parse()?;
        if !headers.contains_key(header::HOST) {
            // A check may name a virtual host of its own.
            headers.insert(header::HOST, HeaderValue::from_str(&authority)?);
        }
        if !headers.contains_key(header::USER_AGENT) {
            headers.insert(
                header::USER_AGENT,
                HeaderValue::from_static(DEFAULT_USER_AGENT),
            );
        }
        if !headers.contains_key(header::ACCEPT) {
            headers.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        }

        let stream = self.inner.clone().call(uri.clone()).await?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake::<_, Empty>(stream).await?;
        let connection = AbortOnDropHandle::new(tokio::spawn(async move {
            // Its error, if any, reaches the request or the body read below.
            let _ = connection.await;
        }));
        let path: hyper::Uri = target.parse()?;
        let mut request = hyper::Request::new(Empty::new());
        *request.method_mut() = method.clone();
        *request.uri_mut() = path;
        *request.headers_mut() = headers;
        let response = sender.send_request(request).await?;
        Ok(response.map(|body| Body {
            body,
            _connection: connection,
        }))
    }
}

type Empty = http_body_util::Empty<Bytes>;

/// An answer's body, read frame by frame; dropping it closes the connection.
pub struct Body {
    body: Incoming,
    _connection: AbortOnDropHandle<()>,
}

impl Body {
    /// The next piece of data, or `None` at the end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, hyper::Error> {
        while let Some(frame) = self.body.frame().await {
            if let Ok(data) = frame?.into_data() {
                return Ok(Some(data));
            }
            // Trailers carry no body.
        }
        Ok(None)
    }
}
