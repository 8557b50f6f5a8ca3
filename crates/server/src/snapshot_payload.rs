//! The data carried in a Raft snapshot: `{"membership": <members JSON>,
//! "v2": <v2 store JSON>}`. Payloads written before the v2 store was added
//! (the bare membership JSON) are still read.

use serde_json::Value;

/// Joins the membership JSON and the v2 store's saved state.
pub(crate) fn encode(membership: &[u8], v2: Value) -> Vec<u8> {
    let membership: Value = serde_json::from_slice(membership).expect("membership JSON is valid");
    serde_json::to_vec(&serde_json::json!({ "membership": membership, "v2": v2 }))
        .expect("payload serialises")
}

/// Splits a payload into the membership JSON and the v2 state, if any.
pub(crate) fn decode(data: &[u8]) -> (Vec<u8>, Option<Value>) {
    match serde_json::from_slice::<Value>(data) {
        Ok(Value::Object(mut m)) if m.contains_key("membership") => {
            let membership = m
                .remove("membership")
                .map(|v| serde_json::to_vec(&v).expect("re-serialises"));
            (membership.unwrap_or_default(), m.remove("v2"))
        }
        _ => (data.to_vec(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_old_format() {
        let old = br#"{"members":{},"removed":[]}"#;
        assert_eq!(decode(old), (old.to_vec(), None));
        let data = encode(old, serde_json::json!({"index": 3}));
        let (m, v2) = decode(&data);
        assert_eq!(
            serde_json::from_slice::<Value>(&m).unwrap(),
            serde_json::from_slice::<Value>(old).unwrap()
        );
        assert_eq!(v2, Some(serde_json::json!({"index": 3})));
    }
}
