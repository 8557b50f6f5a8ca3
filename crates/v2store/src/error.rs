//! etcd's v2 errors (`v2/errorcode.md`): a code with its message and HTTP
//! status, a cause and the store index when it happened.

use serde::Serialize;

/// `Key not found`.
pub const KEY_NOT_FOUND: u32 = 100;
/// `Compare failed`.
pub const TEST_FAILED: u32 = 101;
/// `Not a file`.
pub const NOT_FILE: u32 = 102;
/// `Not a directory`.
pub const NOT_DIR: u32 = 104;
/// `Key already exists`.
pub const NODE_EXIST: u32 = 105;
/// `Root is read only`.
pub const ROOT_READ_ONLY: u32 = 107;
/// `Directory not empty`.
pub const DIR_NOT_EMPTY: u32 = 108;
/// `PrevValue is Required in POST form`.
pub const PREV_VALUE_REQUIRED: u32 = 201;
/// `The given TTL in POST form is not a number`.
pub const TTL_NAN: u32 = 202;
/// `The given index in POST form is not a number`.
pub const INDEX_NAN: u32 = 203;
/// `Invalid field`.
pub const INVALID_FIELD: u32 = 209;
/// `Invalid POST form`.
pub const INVALID_FORM: u32 = 210;
/// `Value provided on refresh`.
pub const REFRESH_VALUE: u32 = 211;
/// `A TTL must be provided on refresh`.
pub const REFRESH_TTL_REQUIRED: u32 = 212;
/// `Raft Internal Error`.
pub const RAFT_INTERNAL: u32 = 300;
/// `During Leader Election`.
pub const LEADER_ELECT: u32 = 301;
/// `The event in requested index is outdated and cleared`.
pub const EVENT_INDEX_CLEARED: u32 = 401;

/// The message etcd gives each code (`v2/errorcode.md`).
pub fn message(code: u32) -> &'static str {
    match code {
        100 => "Key not found",
        101 => "Compare failed",
        102 => "Not a file",
        103 => "Reached the max number of peers in the cluster",
        104 => "Not a directory",
        105 => "Key already exists",
        106 => "The prefix of given key is a keyword in etcd",
        107 => "Root is read only",
        108 => "Directory not empty",
        109 => "Peer address has existed",
        110 => "The request requires user authentication",
        200 => "Value is Required in POST form",
        201 => "PrevValue is Required in POST form",
        202 => "The given TTL in POST form is not a number",
        203 => "The given index in POST form is not a number",
        204 => "Value or TTL is required in POST form",
        205 => "The given timeout in POST form is not a number",
        206 => "Name is required in POST form",
        207 => "Index or value is required",
        208 => "Index and value cannot both be specified",
        209 => "Invalid field",
        210 => "Invalid POST form",
        211 => "Value provided on refresh",
        212 => "A TTL must be provided on refresh",
        300 => "Raft Internal Error",
        301 => "During Leader Election",
        400 => "watcher is cleared due to etcd recovery",
        401 => "The event in requested index is outdated and cleared",
        402 => "Standby Internal Error",
        403 => "Invalid active size",
        404 => "Standby remove delay",
        500 => "Client Internal Error",
        _ => "",
    }
}

/// A v2 error as a client sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message} ({cause})")]
#[non_exhaustive]
pub struct V2Error {
    /// etcd's error code.
    #[serde(rename = "errorCode")]
    pub code: u32,
    /// The code's message.
    pub message: &'static str,
    /// What failed (a key, or a comparison like `[a != b]`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cause: String,
    /// The store index when it failed.
    pub index: u64,
}

impl V2Error {
    /// An error at store index `index`.
    pub fn new(code: u32, cause: impl Into<String>, index: u64) -> V2Error {
        V2Error {
            code,
            message: message(code),
            cause: cause.into(),
            index,
        }
    }

    /// The HTTP status etcd answers with.
    pub fn status(&self) -> u16 {
        match self.code {
            KEY_NOT_FOUND => 404,
            NOT_FILE | DIR_NOT_EMPTY => 403,
            110 => 401,
            TEST_FAILED | NODE_EXIST => 412,
            RAFT_INTERNAL | LEADER_ELECT => 500,
            _ => 400,
        }
    }

    /// The JSON body etcd writes (one line, with its newline).
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string(self).expect("error serialises");
        s.push('\n');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_status_match_etcd() {
        let e = V2Error::new(KEY_NOT_FOUND, "/foo", 7);
        assert_eq!(
            e.to_json(),
            "{\"errorCode\":100,\"message\":\"Key not found\",\"cause\":\"/foo\",\"index\":7}\n"
        );
        assert_eq!(e.status(), 404);
        assert_eq!(V2Error::new(TEST_FAILED, "[a != b]", 1).status(), 412);
        assert_eq!(V2Error::new(DIR_NOT_EMPTY, "/d", 1).status(), 403);
        assert_eq!(V2Error::new(TTL_NAN, "", 0).status(), 400);
        assert_eq!(V2Error::new(TTL_NAN, "", 0).to_json(), "{\"errorCode\":202,\"message\":\"The given TTL in POST form is not a number\",\"index\":0}\n");
    }
}
