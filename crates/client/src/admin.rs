//! The admin plane of an XTrace service (under `/api`, headers `x-xtrace-key` and
//! `x-xtrace-org-id`): an organisation's knowledge bases, its API keys and their permissions,
//! as `paillier-gpu serve` and the hosted service answer them (docs/server-api.md).

use std::fmt;

use reqwest::blocking::RequestBuilder;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::contexts::path_part;
use super::{answer_of, http_client, json_answer};
use crate::error::{Error, Result};

/// A knowledge base, as the admin plane lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KnowledgeBase {
    /// Its id: what the data plane's `kb_id` names.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its description.
    #[serde(default)]
    pub description: String,
    /// How many chunks it holds.
    #[serde(default)]
    pub number_of_vectors: u64,
    /// When it was made.
    #[serde(default)]
    pub created_at: Option<String>,
    /// When it last changed.
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// An API key, as the admin plane lists it (never its secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    /// Its hash: the key's id on the admin plane.
    pub hash: String,
    /// Its first characters, to tell keys apart.
    #[serde(rename = "firstN", default)]
    pub first_n: String,
    /// Its name.
    pub name: String,
    /// Its description.
    #[serde(default)]
    pub description: String,
    /// `active` or `revoked`.
    #[serde(default)]
    pub status: String,
    /// When it was made.
    #[serde(default)]
    pub created_at: Option<String>,
}

/// A new API key: its listing and its secret, which the service shows this once.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewApiKey {
    /// The key as listed.
    pub api_key: ApiKey,
    /// The secret itself: what a data-plane client sends as `x-api-key`.
    #[serde(
        serialize_with = "serialize_secret",
        deserialize_with = "deserialize_secret"
    )]
    pub secret_key: Zeroizing<String>,
}

impl fmt::Debug for NewApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewApiKey")
            .field("api_key", &self.api_key)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

fn serialize_secret<S: serde::Serializer>(
    secret: &Zeroizing<String>,
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    serializer.serialize_str(secret)
}

fn deserialize_secret<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Zeroizing<String>, D::Error> {
    String::deserialize(deserializer).map(Zeroizing::new)
}

/// One entry of a key's permissions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Permission {
    /// The knowledge base.
    pub knowledge_base_id: String,
    /// Its bits: 1 read, 2 write, 4 delete.
    pub permission: u8,
}

/// An admin-plane client of one organisation on one service, with its admin key (the one
/// `server init` printed).
pub struct AdminClient {
    http: reqwest::blocking::Client,
    url: String,
    org_id: String,
    admin_key: Zeroizing<String>,
}

impl fmt::Debug for AdminClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminClient")
            .field("url", &self.url)
            .field("org_id", &self.org_id)
            .field("admin_key", &"<redacted>")
            .finish()
    }
}

impl AdminClient {
    /// A client of the service at `url` (its `api_url`: the admin plane is under `{url}/api`)
    /// for organisation `org_id`.
    pub fn new(url: &str, org_id: &str, admin_key: &str) -> Result<Self> {
        Self::build(url, org_id, admin_key, None)
    }

    /// The same, trusting also the CA certificate (PEM) `ca_pem`.
    pub fn with_ca_certificate(
        url: &str,
        org_id: &str,
        admin_key: &str,
        ca_pem: &[u8],
    ) -> Result<Self> {
        Self::build(url, org_id, admin_key, Some(super::ca_certificate(ca_pem)?))
    }

    fn build(
        url: &str,
        org_id: &str,
        admin_key: &str,
        ca: Option<reqwest::Certificate>,
    ) -> Result<Self> {
        let url = super::service_url(url)?;
        // A header value: no line breaks or other control characters.
        if org_id.is_empty() || org_id.chars().any(char::is_control) {
            return Err(Error::InvalidSetting(format!(
                "the organisation id {org_id:?} is empty or holds control characters"
            )));
        }
        if admin_key.is_empty() || admin_key.chars().any(char::is_control) {
            return Err(Error::InvalidSetting(
                "the admin key is empty or holds control characters".into(),
            ));
        }
        Ok(Self {
            http: http_client(url, ca)?,
            url: url.to_owned(),
            org_id: org_id.to_owned(),
            admin_key: Zeroizing::new(admin_key.to_owned()),
        })
    }

    /// Knowledge bases of the organisation.
    pub fn kbs(&self) -> Result<Vec<KnowledgeBase>> {
        self.call(Method::GET, "kbs", None)
    }

    /// One knowledge base.
    pub fn kb(&self, kb_id: &str) -> Result<KnowledgeBase> {
        self.call(Method::GET, &format!("kbs/{}", path_part(kb_id)?), None)
    }

    /// A new knowledge base.
    pub fn create_kb(&self, name: &str, description: &str) -> Result<KnowledgeBase> {
        let body = serde_json::json!({ "name": name, "description": description });
        self.call(Method::POST, "kbs", Some(body))
    }

    /// Deletes a knowledge base with its chunks, permissions and bindings.
    pub fn delete_kb(&self, kb_id: &str) -> Result<()> {
        let path = format!("kbs/{}", path_part(kb_id)?);
        self.call::<serde_json::Value>(Method::DELETE, &path, None)
            .map(drop)
    }

    /// The organisation's API keys (without their secrets).
    pub fn keys(&self) -> Result<Vec<ApiKey>> {
        self.call(Method::GET, "keys", None)
    }

    /// A new API key, with no permission yet; its secret is shown this once.
    pub fn create_key(&self, name: &str, description: &str) -> Result<NewApiKey> {
        let body = serde_json::json!({ "name": name, "description": description });
        let (answer, address) = self.answer(Method::POST, "keys", Some(body))?;
        // Not shown on failure, as other answers are: it holds the secret.
        serde_json::from_value(answer).map_err(|e| Error::RemoteUnreachable {
            url: address,
            detail: format!("the new key's answer is not the API's: {e}"),
        })
    }

    /// The permissions of the key whose hash is `hash`.
    pub fn permissions(&self, hash: &str) -> Result<Vec<Permission>> {
        let path = format!("keys/{}/permissions", path_part(hash)?);
        self.call(Method::GET, &path, None)
    }

    /// Sets the key's permission on `kb_id` to `bits` (1 read, 2 write, 4 delete; 0 none).
    pub fn set_permission(&self, hash: &str, kb_id: &str, bits: u8) -> Result<Permission> {
        if bits > 7 {
            return Err(Error::InvalidSetting(format!(
                "the permission {bits} is not a sum of 1 (read), 2 (write) and 4 (delete)"
            )));
        }
        let path = format!(
            "keys/{}/permissions/{}",
            path_part(hash)?,
            path_part(kb_id)?
        );
        let body = serde_json::json!({ "permission": bits });
        self.call(Method::PUT, &path, Some(body))
    }

    /// Revokes the key: the service refuses it from its next request on.
    pub fn revoke_key(&self, hash: &str) -> Result<()> {
        let path = format!("keys/{}/status/revoke", path_part(hash)?);
        self.call::<serde_json::Value>(Method::PATCH, &path, None)
            .map(drop)
    }

    fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<T> {
        let (answer, address) = self.answer(method, path, body)?;
        answer_of(answer, &address)
    }

    /// The JSON answer of `/api/v1/{path}`, and the address asked.
    fn answer(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<(serde_json::Value, String)> {
        let address = format!("{}/api/v1/{path}", self.url);
        let mut request: RequestBuilder = self
            .http
            .request(method, &address)
            .header("x-xtrace-key", self.admin_key.as_str())
            .header("x-xtrace-org-id", self.org_id.as_str());
        if let Some(body) = body {
            request = request.json(&body);
        }
        Ok((json_answer(request, &address)?, address))
    }
}
