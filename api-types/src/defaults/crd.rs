//! Defaults for custom resource definitions.

use super::{default_absent, default_string};
use crate::k8s::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceConversion, CustomResourceDefinition,
};

/// Defaults a custom resource definition: singular and list-kind names derived from the
/// kind, no conversion between versions, port 443 for a conversion webhook service, and
/// the storage version recorded as stored.
pub fn default_custom_resource_definition(crd: &mut CustomResourceDefinition) {
    let spec = &mut crd.spec;
    default_string(&mut spec.names.singular, &spec.names.kind.to_lowercase());
    if !spec.names.kind.is_empty() {
        let list_kind = format!("{}List", spec.names.kind);
        default_string(&mut spec.names.list_kind, &list_kind);
    }
    let conversion = spec
        .conversion
        .get_or_insert_with(|| CustomResourceConversion {
            strategy: "None".to_owned(),
            webhook: None,
        });
    let service = conversion
        .webhook
        .as_mut()
        .and_then(|webhook| webhook.client_config.as_mut())
        .and_then(|client| client.service.as_mut());
    if let Some(service) = service {
        default_absent(&mut service.port, 443);
    }
    let already_stored = crd
        .status
        .as_ref()
        .and_then(|status| status.stored_versions.as_ref())
        .is_some_and(|versions| !versions.is_empty());
    if !already_stored {
        let storage = crd.spec.versions.iter().find(|version| version.storage);
        if let Some(version) = storage {
            let name = version.name.clone();
            crd.status
                .get_or_insert_with(Default::default)
                .stored_versions = Some(vec![name]);
        }
    }
}
