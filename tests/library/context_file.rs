//! Execution contexts: creation, the file format field by field, ids, devices and lookup tables.
//! Parameters and the public part are in `context_parts.rs`; key providers, content encryption
//! and redaction in `context_secrets.rs`.

use crate::common;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use common::{json_int, small_context, small_options, SCHEMES};
use num_bigint::BigUint;
use paillier_gpu::context::{FileFormat, PassphraseKeyProvider};
use paillier_gpu::{ContextOptions, Device, Error, ExecutionContext, PublicContext, Scheme};
use serde_json::Value;

/// Asserts that `keys` appear in this order, Python-style (`"key": `), in raw JSON text.
fn assert_key_order(json: &str, keys: &[&str]) {
    let positions: Vec<usize> = keys
        .iter()
        .map(|k| {
            json.find(&format!("\"{k}\": "))
                .unwrap_or_else(|| panic!("{k} missing in {json:.80}"))
        })
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "key order {keys:?} in {json:.80}"
    );
}

#[test]
fn saved_contexts_load_back_with_the_same_id() {
    let dir = tempfile::tempdir().unwrap();
    for scheme in SCHEMES {
        let ctx =
            ExecutionContext::create_with_passphrase(&small_options(scheme, 40), "pass phrase é")
                .unwrap();
        let path = dir.path().join(format!("{}.json", scheme.name()));
        ctx.save_to_disk(&path).unwrap();
        let loaded = ExecutionContext::load_with_passphrase(&path, "pass phrase é").unwrap();
        assert_eq!(loaded.id(), ctx.id());
        assert_eq!(loaded, ctx);
        assert_eq!(loaded.public().config(), ctx.public().config());
        // Re-saving gives a fresh nonce but the same id.
        let again = dir.path().join("again.json");
        loaded.save_to_disk(&again).unwrap();
        assert_ne!(
            std::fs::read(&path).unwrap(),
            std::fs::read(&again).unwrap()
        );
        assert_eq!(
            ExecutionContext::load_with_passphrase(&again, "pass phrase é")
                .unwrap()
                .id(),
            ctx.id()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }
}

/// Our authenticated form adds a last field, `format`, to the SDK's (see `FileFormat`).
#[test]
fn the_file_matches_format_md_field_by_field() {
    for (scheme, file_format) in SCHEMES
        .iter()
        .flat_map(|&s| [(s, FileFormat::Authenticated), (s, FileFormat::Sdk)])
    {
        let ctx = ExecutionContext::from_json_with_passphrase(
            &small_context(scheme).to_json().unwrap(),
            "test passphrase",
        )
        .unwrap()
        .with_file_format(file_format);
        let text = ctx.to_json().unwrap();
        // Python json.dumps separators.
        assert!(text.starts_with("{\"sk\": \""), "{text:.40}");
        let file: serde_json::Map<String, Value> = serde_json::from_str(&text).unwrap();
        let mut keys = vec![
            "sk",
            "pk",
            "type",
            "config",
            "key_provider",
            "wrapped_key",
            "key_check",
        ];
        if file_format == FileFormat::Authenticated {
            keys.push("format");
            assert_eq!(file["format"], "paillier-gpu/2");
        }
        assert_eq!(file.len(), keys.len());
        assert_key_order(&text, &keys);
        // The SDK's form seals sk under the data key itself, with no associated data, as the
        // SDK reads it; ours under a derived key, with type, pk and config.
        let data_key = ctx.key_provider().data_key().unwrap();
        let sealed = file["sk"].as_str().unwrap();
        assert_eq!(
            paillier_gpu::context::aes::decrypt(&data_key, sealed).is_ok(),
            file_format == FileFormat::Sdk
        );
        assert_eq!(file["type"], scheme.context_type());
        assert_eq!(file["key_provider"], "passphrase");
        assert_eq!(
            BASE64
                .decode(file["wrapped_key"].as_str().unwrap())
                .unwrap()
                .len(),
            16,
            "random 16-byte salt"
        );
        // sk: base64 of nonce16 | tag16 | ciphertext.
        assert!(BASE64.decode(file["sk"].as_str().unwrap()).unwrap().len() > 32);

        let pk: serde_json::Map<String, Value> =
            serde_json::from_str(file["pk"].as_str().unwrap()).unwrap();
        let config: serde_json::Map<String, Value> =
            serde_json::from_str(file["config"].as_str().unwrap()).unwrap();
        let plain: Value = serde_json::from_str(&ctx.to_plain_json()).unwrap();
        let sk: serde_json::Map<String, Value> =
            serde_json::from_str(plain["sk"].as_str().unwrap()).unwrap();
        let n = json_int(&pk["n"]);
        assert_eq!(json_int(&pk["n_squared"]), &n * &n);
        match scheme {
            Scheme::Paillier => {
                assert_eq!(pk.len(), 3);
                assert_key_order(file["pk"].as_str().unwrap(), &["g", "n", "n_squared"]);
                assert!(pk.values().all(Value::is_string), "decimal strings");
                assert_eq!(json_int(&pk["g"]), &n + 1u32);
                assert_eq!(sk.len(), 2);
                assert_key_order(plain["sk"].as_str().unwrap(), &["phi", "inv"]);
                assert!(sk.values().all(Value::is_string));
                assert_eq!(file["config"], "{\"embed_len\": 64, \"key_len\": 256}");
            }
            Scheme::PaillierLookup => {
                assert_eq!(pk.len(), 4);
                assert_key_order(
                    file["pk"].as_str().unwrap(),
                    &["g", "n", "n_squared", "g_n"],
                );
                assert!(pk.values().all(Value::is_number), "JSON numbers");
                assert_eq!(sk.len(), 3);
                assert_key_order(plain["sk"].as_str().unwrap(), &["phi", "a", "g_a_inv"]);
                assert!(sk.values().all(Value::is_number));
                assert_eq!(config["message_chunks"], 64);
                assert_eq!(file["config"], "{\"message_chunks\": 64, \"alpha_len\": 64, \"embed_len\": 64, \"key_len\": 256}");
            }
        }
    }
}

#[test]
fn our_format_authenticates_pk_type_and_config_and_the_sdk_form_cannot() {
    let ctx = small_context(Scheme::PaillierLookup);
    let other = small_context(Scheme::Paillier);
    for file_format in [FileFormat::Authenticated, FileFormat::Sdk] {
        let text =
            ExecutionContext::from_json_with_passphrase(&ctx.to_json().unwrap(), "test passphrase")
                .unwrap()
                .with_file_format(file_format)
                .to_json()
                .unwrap();
        let edit = |field: &str, value: String| {
            let mut file: serde_json::Map<String, Value> = serde_json::from_str(&text).unwrap();
            file.insert(field.into(), Value::String(value));
            serde_json::to_string(&file).unwrap()
        };
        let config = ctx
            .public()
            .config()
            .to_json()
            .replace("\"embed_len\": 64", "\"embed_len\": 63");
        let tampered = [
            edit("config", config),
            // Another spelling of the same key: equal integers, different text.
            edit(
                "pk",
                serde_json::from_str::<Value>(&text).unwrap()["pk"]
                    .as_str()
                    .unwrap()
                    .replace(", \"", ",\""),
            ),
        ];
        for bad in &tampered {
            let loaded = ExecutionContext::from_json_with_passphrase(bad, "test passphrase");
            match file_format {
                FileFormat::Authenticated => assert!(
                    matches!(loaded, Err(Error::SecretKeyTampered)),
                    "{loaded:?}"
                ),
                // The SDK's form authenticates only sk: the edit goes unnoticed.
                FileFormat::Sdk => assert!(loaded.is_ok(), "{loaded:?}"),
            }
        }
    }
    // Content keys differ between the forms: our content key is not the data key.
    let ours =
        ExecutionContext::from_json_with_passphrase(&other.to_json().unwrap(), "test passphrase")
            .unwrap();
    let blob = ours.encrypt_content(b"text").unwrap();
    let sdk_form =
        ExecutionContext::from_json_with_passphrase(&other.to_json().unwrap(), "test passphrase")
            .unwrap()
            .with_file_format(FileFormat::Sdk);
    assert!(matches!(
        sdk_form.decrypt_content(&blob),
        Err(Error::ContentAuthentication)
    ));
    assert_eq!(&ours.decrypt_content(&blob).unwrap()[..], b"text");
}

#[test]
fn the_id_is_sha256_of_the_python_plain_dict() {
    use sha2::{Digest, Sha256};
    for scheme in SCHEMES {
        let ctx = small_context(scheme);
        let plain = ctx.to_plain_json();
        let digest: String = Sha256::digest(plain.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(ctx.id(), digest);
        let reloaded =
            ExecutionContext::from_plain_json(&plain, ctx.key_provider().clone()).unwrap();
        assert_eq!(reloaded.id(), ctx.id());
    }
}

#[test]
fn the_device_is_not_part_of_the_id() {
    common::gpu_required(); // Mesa's runtime folder, before `auto` probes an adapter
    let ctx = ExecutionContext::create_with_passphrase(&small_options(Scheme::Paillier, 40), "p")
        .unwrap();
    let id = ctx.id().to_owned();
    let auto = ctx.with_device(Device::Auto);
    assert_eq!(auto.public().device(), Device::Auto);
    assert_eq!(auto.id(), id);
    let json = auto.to_json().unwrap();
    let cpu = ExecutionContext::from_json_with_passphrase(&json, "p").unwrap();
    assert_eq!(cpu, auto);
}

#[test]
fn device_names_parse() {
    assert_eq!("GPU".parse::<Device>().unwrap(), Device::Gpu);
    assert_eq!(" auto ".parse::<Device>().unwrap(), Device::Auto);
    assert!(matches!(
        "tpu".parse::<Device>(),
        Err(paillier_gpu::hazmat::Error::InvalidParameter(_))
    ));
}

#[test]
fn lookup_tables_dump_in_the_sdk_shape() {
    let options = ContextOptions {
        scheme: Scheme::PaillierLookup,
        key_len: 128,
        embed_len: 10,
        alpha_len: 40,
        allow_insecure: true,
        ..Default::default()
    };
    let ctx = ExecutionContext::create_with_passphrase(&options, "p").unwrap();
    let tables = ctx.dump_tables().unwrap();
    let g_table = tables["g_table"].as_object().unwrap();
    assert_eq!(g_table.len(), 32, "message_chunks = 2*128/8 rows");
    let pk = ctx.public().public_key();
    for (row, j) in [(0usize, 0u32), (0, 1), (3, 200), (31, 255)] {
        let expected = pk
            .g()
            .modpow(&(BigUint::from(j) << (8 * row)), pk.n_squared());
        assert_eq!(json_int(&g_table[&row.to_string()][j as usize]), expected);
    }
    let noise = tables["noise_table"].as_array().unwrap();
    assert_eq!(noise.len(), 256);
    // Every noise entry lies in the subgroup generated by g_n: it vanishes under decryption.
    let c = paillier_gpu::paillier::Ciphertext::from_biguint(json_int(&noise[7]));
    assert_eq!(
        ctx.secret_key()
            .decrypt(ctx.public().backend().unwrap().as_ref(), &c)
            .unwrap(),
        BigUint::from(0u32)
    );
    assert_eq!(
        small_context(Scheme::Paillier).dump_tables().unwrap(),
        serde_json::json!({})
    );

    // A file carrying the tables loads; one whose tables do not match its key does not.
    let with_tables = |tables: &Value| {
        let mut file: serde_json::Map<String, Value> =
            serde_json::from_str(&ctx.to_json().unwrap()).unwrap();
        file.insert("tables".into(), tables.clone());
        serde_json::to_string(&file).unwrap()
    };
    let good = with_tables(&tables);
    assert!(PublicContext::from_public_json(&good).is_ok());
    assert_eq!(
        ExecutionContext::from_json(&good, &PassphraseKeyProvider::new("p")).unwrap(),
        ctx
    );
    let mut bad_g = tables.clone();
    bad_g["g_table"]["3"][7] = bad_g["g_table"]["3"][8].clone();
    let mut bad_noise = tables.clone();
    bad_noise["noise_table"][5] = 0.into();
    let mut short = tables.clone();
    short["g_table"].as_object_mut().unwrap().remove("31");
    for (bad, what) in [
        (bad_g, "g_table[3][7]"),
        (bad_noise, "noise_table"),
        (short, "rows"),
    ] {
        match PublicContext::from_public_json(&with_tables(&bad)) {
            Err(Error::MalformedContext(why)) => assert!(why.contains(what), "{why}"),
            other => panic!("{what}: {other:?}"),
        }
    }
}
