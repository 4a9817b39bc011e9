//! Numbers through a context: the context's key and device. Encryption is the public
//! context's, under the public key, and an [`ExecutionContext`]'s as the owner (modulo p² and q²
//! where the secret key may go to the backend); decryption is the owner's and keeps the secret
//! key on the CPU unless the device is explicitly a GPU. The key must be of the classic scheme
//! (`g = n + 1`).

use super::public::encryptor;
use super::{ExecutionContext, PublicContext};
use crate::error::Result;
use crate::numbers::{Decrypted, EncryptedArray, LinearModel, Numbers, PackOptions, PackedArray};
use crate::paillier::SecretKey;

impl PublicContext {
    /// Encrypts `values` of `shape` (see [`EncryptedArray::encrypt`]) with the public key
    /// ([`ExecutionContext::encrypt_numbers`] encrypts as the owner: the same ciphertext
    /// distribution).
    pub fn encrypt_numbers(
        &self,
        values: Numbers<'_>,
        shape: Vec<usize>,
        precision: Option<f64>,
    ) -> Result<EncryptedArray> {
        self.encrypt_numbers_as(None, values, shape, precision)
    }

    /// Encrypts samples of `columns` numbers (row-major), many samples per ciphertext (see
    /// [`PackedArray`]), with the public key, as [`encrypt_numbers`](Self::encrypt_numbers) does.
    pub fn encrypt_packed(
        &self,
        values: Numbers<'_>,
        columns: usize,
        options: &PackOptions,
    ) -> Result<PackedArray> {
        self.encrypt_packed_as(None, values, columns, options)
    }

    fn encrypt_numbers_as(
        &self,
        owner: Option<&SecretKey>,
        values: Numbers<'_>,
        shape: Vec<usize>,
        precision: Option<f64>,
    ) -> Result<EncryptedArray> {
        let (backend, key) = (self.backend()?, self.public_key());
        EncryptedArray::encrypt_with(
            encryptor(owner),
            key,
            backend.as_ref(),
            values,
            shape,
            precision,
        )
    }

    fn encrypt_packed_as(
        &self,
        owner: Option<&SecretKey>,
        values: Numbers<'_>,
        columns: usize,
        options: &PackOptions,
    ) -> Result<PackedArray> {
        let (backend, key) = (self.backend()?, self.public_key());
        PackedArray::encrypt_with(
            encryptor(owner),
            key,
            backend.as_ref(),
            values,
            columns,
            options,
        )
    }

    /// `x·W + b` over encrypted samples (see [`LinearModel::infer`]), on this context's device.
    pub fn infer(&self, model: &LinearModel, x: &EncryptedArray) -> Result<EncryptedArray> {
        model.infer(self.backend()?.as_ref(), x)
    }

    /// `x·W + b` over packed samples (see [`LinearModel::infer_packed`]), on this context's
    /// device.
    pub fn infer_packed(&self, model: &LinearModel, x: &PackedArray) -> Result<PackedArray> {
        model.infer_packed(self.backend()?.as_ref(), x)
    }
}

impl ExecutionContext {
    /// Encrypts `values` of `shape` (see [`EncryptedArray::encrypt`]) as the owner where the
    /// secret key may go to the backend, else with the public key (the same ciphertext
    /// distribution either way).
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
        self.public
            .encrypt_numbers_as(self.owner()?, values, shape, precision)
    }

    /// Encrypts samples of `columns` numbers, many per ciphertext (see [`PackedArray`]), by the
    /// same encryptor as [`encrypt_numbers`](Self::encrypt_numbers).
    pub fn encrypt_packed(
        &self,
        values: Numbers<'_>,
        columns: usize,
        options: &PackOptions,
    ) -> Result<PackedArray> {
        self.public
            .encrypt_packed_as(self.owner()?, values, columns, options)
    }

    /// Decrypts an array made under this context's key (integers or floats, as it was
    /// encrypted), on the backend secrets may use.
    pub fn decrypt_numbers(&self, array: &EncryptedArray) -> Result<Decrypted> {
        array.decrypt(self.secret_key(), self.secret_key_backend()?.as_ref())
    }

    /// Decrypts packed samples made under this context's key, row-major.
    pub fn decrypt_packed(&self, array: &PackedArray) -> Result<Decrypted> {
        array.decrypt(self.secret_key(), self.secret_key_backend()?.as_ref())
    }
}
