//! The encoded `device_name` and `source_name` of the last event, kept for the next one: the events
//! of a file source all share them, so they are checked and escaped once instead of per event.

use crate::event::Event;

/// The names of the last event encoded, with their encodings.
#[derive(Debug, Default)]
pub struct SourceNames {
    /// The `device_name` and `source_name` the encodings are of (both empty before the first
    /// event, when `kv` is empty too). Kept in place: a relay's names change with nearly every
    /// event, and a copy into these buffers allocates nothing once they are large enough.
    device_name: String,
    source_name: String,
    /// ` device_name=… source_name=…` as the `kv` payload writes it.
    kv: Vec<u8>,
    /// `device_name` as the RFC 5424 HOSTNAME field.
    hostname: Vec<u8>,
}

impl SourceNames {
    /// Brings the encodings up to date with `event`'s names. The names are compared by content, not
    /// by address: a name borrowed from a reused input buffer (a relayed sender's hostname) can hold
    /// other text at the same address.
    pub fn update(&mut self, event: &Event<'_>) {
        let encoded = !self.kv.is_empty();
        if encoded && self.device_name == event.device_name && self.source_name == event.source_name
        {
            return;
        }
        self.kv.clear();
        super::kv::names(event.device_name, event.source_name, &mut self.kv);
        self.hostname.clear();
        super::envelope::hostname(event.device_name, &mut self.hostname);
        self.device_name.clear();
        self.device_name.push_str(event.device_name);
        self.source_name.clear();
        self.source_name.push_str(event.source_name);
    }

    /// The `kv` fields of the names (after [`SourceNames::update`]).
    pub fn kv(&self) -> &[u8] {
        &self.kv
    }

    /// The RFC 5424 HOSTNAME (after [`SourceNames::update`]).
    pub fn hostname(&self) -> &[u8] {
        &self.hostname
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_names_by_content() {
        let mut names = SourceNames::default();
        let mut buffer = String::from("web01");
        names.update(&Event::new(&buffer, "/var/log/a b.log"));
        assert_eq!(
            names.kv(),
            b" device_name=web01 source_name=\"/var/log/a b.log\""
        );
        assert_eq!(names.hostname(), b"web01");
        // Same length, new text: the encodings follow.
        buffer.replace_range(.., "db 02");
        names.update(&Event::new(&buffer, "/var/log/a b.log"));
        assert_eq!(
            names.kv(),
            b" device_name=\"db 02\" source_name=\"/var/log/a b.log\""
        );
        assert_eq!(names.hostname(), b"db_02");
        names.update(&Event::new("", ""));
        assert_eq!(names.kv(), b" device_name=\"\" source_name=\"\"");
        assert_eq!(names.hostname(), b"-");
    }
}
