//! Numbers through a context: the context's key and device, with the same policy as vectors
//! (the owner's faster encryption and the decryption keep the secret key on the CPU unless the
//! device is explicitly a GPU). The key must be of the classic scheme (`g = n + 1`).

use super::{ExecutionContext, PublicContext};
use crate::error::Result;
use crate::numbers::{Decrypted, EncryptedArray, LinearModel, Numbers};

impl ExecutionContext {
    /// Encrypts `values` of `shape` (see [`EncryptedArray::encrypt`]): modulo p² and q² with
    /// the secret key where it may be used, else with the public key; the same ciphertext
    /// distribution either way.
    ///
    /// ```
    /// # use paillier_gpu::{ContextOptions, ExecutionContext};
    /// use paillier_gpu::numbers::{Decrypted, Numbers};
    /// # let options = ContextOptions { key_len: 256, embed_len: 8, allow_insecure: true, ..Default::default() };
    /// let ctx = ExecutionContext::create_with_passphrase(&options, "p").unwrap();
    /// let x = ctx.encrypt_numbers(Numbers::Floats(&[1.5, -2.0]), vec![2], None).unwrap();
    /// assert_eq!(ctx.decrypt_numbers(&x).unwrap(), Decrypted::Floats(vec![1.5, -2.0]));
    /// ```
    pub fn encrypt_numbers(
        &self,
        values: Numbers<'_>,
        shape: Vec<usize>,
        precision: Option<f64>,
    ) -> Result<EncryptedArray> {
        let backend = self.backend()?;
        if self.secrets_may_use_backend()? {
            EncryptedArray::encrypt_as_owner(
                self.public_key(),
                self.secret_key(),
                backend.as_ref(),
                values,
                shape,
                precision,
            )
        } else {
            EncryptedArray::encrypt(
                self.public_key(),
                backend.as_ref(),
                values,
                shape,
                precision,
            )
        }
    }

    /// Decrypts an array made under this context's key (integers or floats, as it was
    /// encrypted), on the backend secrets may use.
    pub fn decrypt_numbers(&self, array: &EncryptedArray) -> Result<Decrypted> {
        array.decrypt(self.secret_key(), self.secret_key_backend()?.as_ref())
    }
}

impl PublicContext {
    /// Encrypts `values` of `shape` with the public key (see [`EncryptedArray::encrypt`]).
    pub fn encrypt_numbers(
        &self,
        values: Numbers<'_>,
        shape: Vec<usize>,
        precision: Option<f64>,
    ) -> Result<EncryptedArray> {
        EncryptedArray::encrypt(
            self.public_key(),
            self.backend()?.as_ref(),
            values,
            shape,
            precision,
        )
    }

    /// `x·W + b` over encrypted samples (see [`LinearModel::infer`]), on this context's device.
    pub fn infer(&self, model: &LinearModel, x: &EncryptedArray) -> Result<EncryptedArray> {
        model.infer(self.backend()?.as_ref(), x)
    }
}
