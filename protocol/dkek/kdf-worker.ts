// placeholder: replaced by the key-derivation worker
export {};
