//! The calls an administrator and a data-plane key make to a running server, whichever way it
//! was started (in this process, or as the `paillier-gpu` program).

use reqwest::Method;
use serde_json::{json, Value};

/// A running service: its URL, one organisation and that organisation's admin key.
#[derive(Clone, Debug)]
pub struct Service {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The organisation's id.
    pub org: String,
    /// The organisation's admin key.
    pub admin_key: String,
}

impl Service {
    /// An admin-plane call; the status and the JSON answer (null when empty).
    pub fn admin(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        crate::net::call(
            method,
            &format!("{}/api/v1/{path}", self.url),
            &[
                ("x-xtrace-key", &self.admin_key),
                ("x-xtrace-org-id", &self.org),
            ],
            body.as_ref(),
        )
    }

    /// A new knowledge base and an API key with every permission on it: `(kb_id, api_key)`.
    pub fn kb_and_key(&self, name: &str) -> (String, String) {
        let (status, key) = self.admin(
            Method::POST,
            "keys",
            Some(json!({ "name": name, "description": "a test's" })),
        );
        assert_eq!(status, 200, "{key}");
        let kb_id = self.new_kb(name);
        self.grant(key["apiKey"]["hash"].as_str().unwrap(), &kb_id, 7);
        (kb_id, key["secretKey"].as_str().unwrap().to_owned())
    }

    /// A new knowledge base on which `api_key` (of this organisation) has every permission.
    pub fn kb_for(&self, name: &str, api_key: &str) -> String {
        let (status, keys) = self.admin(Method::GET, "keys", None);
        assert_eq!(status, 200, "{keys}");
        let hash = keys
            .as_array()
            .and_then(|keys| keys.iter().find(|k| k["firstN"] == api_key[..5]))
            .and_then(|k| k["hash"].as_str())
            .unwrap()
            .to_owned();
        let kb_id = self.new_kb(name);
        self.grant(&hash, &kb_id, 7);
        kb_id
    }

    /// A new API key with `permission` on `kb` (none when 0).
    pub fn key_with(&self, kb: &str, permission: u8) -> String {
        let (status, key) = self.admin(
            Method::POST,
            "keys",
            Some(json!({ "name": format!("p{permission}") })),
        );
        assert_eq!(status, 200, "{key}");
        if permission > 0 {
            self.grant(key["apiKey"]["hash"].as_str().unwrap(), kb, permission);
        }
        key["secretKey"].as_str().unwrap().to_owned()
    }

    /// A new knowledge base of this organisation: its id.
    pub fn new_kb(&self, name: &str) -> String {
        let (status, kb) = self.admin(
            Method::POST,
            "kbs",
            Some(json!({ "name": name, "description": "a test's" })),
        );
        assert_eq!(status, 200, "{kb}");
        kb["id"].as_str().unwrap().to_owned()
    }

    /// `permission` on `kb_id` for the key hashing to `hash`.
    fn grant(&self, hash: &str, kb_id: &str, permission: u8) {
        let (status, answer) = self.admin(
            Method::PUT,
            &format!("keys/{hash}/permissions/{kb_id}"),
            Some(json!({ "permission": permission })),
        );
        assert_eq!(status, 200, "{answer}");
    }

    /// A data-plane POST with an API key: the status and the JSON answer.
    pub fn post(&self, path: &str, api_key: &str, body: &Value) -> (u16, Value) {
        let answer = reqwest::blocking::Client::new()
            .post(format!("{}{path}", self.url))
            .header("x-api-key", api_key)
            .json(body)
            .send()
            .unwrap();
        let status = answer.status().as_u16();
        let text = answer.text().unwrap();
        let value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
        (status, value)
    }
}
