//! The CRI v1 client: runtime and image services of one container runtime, reached over its
//! unix socket.

use std::path::PathBuf;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use k8s_cri::v1::image_service_client::ImageServiceClient;
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};

/// How long a dial of the runtime socket may take. A dead runtime leaves its socket file
/// behind, and without a bound every call would wait for the operating system's own timeout.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum CriError {
    #[error("container runtime endpoint {0:?} is not a unix:// URL or an absolute socket path")]
    BadEndpoint(String),
    #[error("connecting to the container runtime at {path}: {source}")]
    Connect {
        path: String,
        #[source]
        source: tonic::transport::Error,
    },
}

/// The runtime and image services of one runtime. Clones share the connection.
#[derive(Clone)]
pub struct Cri {
    pub runtime: RuntimeServiceClient<Channel>,
    pub images: ImageServiceClient<Channel>,
}

/// Turns `unix:///run/x.sock` or `/run/x.sock` into the socket path.
pub fn socket_path(endpoint: &str) -> Result<PathBuf, CriError> {
    let path = endpoint.strip_prefix("unix://").unwrap_or(endpoint);
    if path.starts_with('/') {
        Ok(PathBuf::from(path))
    } else {
        Err(CriError::BadEndpoint(endpoint.to_string()))
    }
}

impl Cri {
    /// Connects to the runtime at `endpoint` (`unix:///path` or `/path`).
    pub async fn connect(endpoint: &str) -> Result<Cri, CriError> {
        let channel = unix_channel(endpoint).await?;
        Ok(Cri {
            runtime: RuntimeServiceClient::new(channel.clone()),
            images: ImageServiceClient::new(channel),
        })
    }
}

/// A gRPC channel to the unix socket named by `endpoint` (`unix:///path` or `/path`), with a
/// bounded dial. containerd serves CRI and its own services on the same socket.
pub async fn unix_channel(endpoint: &str) -> Result<Channel, CriError> {
    let path = socket_path(endpoint)?;
    // The URI is required by tonic but unused: every connection goes to the socket.
    Endpoint::from_static("http://[::]:50051")
        .connect_timeout(CONNECT_TIMEOUT)
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let path = path.clone();
            async move {
                let stream =
                    tokio::time::timeout(CONNECT_TIMEOUT, UnixStream::connect(path)).await??;
                Ok::<_, std::io::Error>(TokioIo::new(stream))
            }
        }))
        .await
        .map_err(|source| CriError::Connect {
            path: endpoint.to_string(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_name_an_absolute_socket() {
        assert_eq!(
            socket_path("unix:///run/c.sock").unwrap(),
            PathBuf::from("/run/c.sock")
        );
        assert_eq!(
            socket_path("/run/c.sock").unwrap(),
            PathBuf::from("/run/c.sock")
        );
        assert!(socket_path("unix://relative.sock").is_err());
        assert!(socket_path("tcp://127.0.0.1:1").is_err());
    }

    #[tokio::test]
    async fn a_missing_socket_fails_instead_of_hanging() {
        let dir = std::env::temp_dir().join(format!("berth-cri-missing-{}", std::process::id()));
        let err = Cri::connect(&format!("unix://{}/none.sock", dir.display()))
            .await
            .err();
        assert!(matches!(err, Some(CriError::Connect { .. })));
    }
}
