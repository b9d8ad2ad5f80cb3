//! The event stream the deserializer reads: libyaml's events of the one
//! document, one at a time, with aliases already expanded.
//!
//! Nothing holds the whole document. Only the events of anchored nodes are
//! kept (once, in one log shared by nested anchors) so that an alias can
//! replay them; replays are bounded so that a billion-laughs document fails
//! fast instead of expanding without end.

use std::collections::HashMap;

use super::error::Error;
use super::events::{Event, Mark, Parser, Scalar};

/// Replayed events may reach this many times the events parsed so far
/// (plus [`REPLAY_ALLOWANCE`]) before the document is refused. serde_yaml's
/// limit is of the same kind: 100 alias jumps per event of the document.
const REPLAY_FACTOR: u64 = 100;
const REPLAY_ALLOWANCE: u64 = 10_000;

/// One event as the deserializer sees it: no stream/document framing, no
/// anchors, no aliases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Scalar(Scalar),
    SequenceStart {
        tag: Option<Box<[u8]>>,
    },
    SequenceEnd,
    MappingStart {
        tag: Option<Box<[u8]>>,
    },
    MappingEnd,
    /// The input holds no document at all (serde_yaml's "void" value).
    Void,
}

#[derive(Debug)]
enum Logged {
    Item(Item, Mark),
    Alias(usize),
}

/// Where an anchored node's events sit in the log; `end` is `None` while
/// the node is still being parsed.
#[derive(Debug)]
struct AnchoredNode {
    start: usize,
    end: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    BeforeRoot,
    InDocument,
    StreamOver,
}

pub struct EventSource<'input> {
    parser: Parser<'input>,
    stage: Stage,
    peeked: Option<(Item, Mark)>,
    log: Vec<Logged>,
    nodes: Vec<AnchoredNode>,
    /// The latest node each anchor name was given to (names may be reused).
    anchors: HashMap<Box<[u8]>, usize>,
    /// Anchored nodes still open, with the nesting depth they started at.
    recording: Vec<(usize, usize)>,
    depth: usize,
    /// Replay cursors into `log`: (next position, end).
    replay: Vec<(usize, usize)>,
    parsed: u64,
    replayed: u64,
    failed: Option<Error>,
}

impl<'input> EventSource<'input> {
    pub fn new(input: &'input [u8]) -> Result<EventSource<'input>, Error> {
        Ok(EventSource {
            parser: Parser::new(input)?,
            stage: Stage::BeforeRoot,
            peeked: None,
            log: Vec::new(),
            nodes: Vec::new(),
            anchors: HashMap::new(),
            recording: Vec::new(),
            depth: 0,
            replay: Vec::new(),
            parsed: 0,
            replayed: 0,
            failed: None,
        })
    }

    pub fn peek(&mut self) -> Result<(&Item, Mark), Error> {
        if self.peeked.is_none() {
            let next = self.pull()?;
            self.peeked = Some(next);
        }
        match &self.peeked {
            Some((item, mark)) => Ok((item, *mark)),
            None => Err(Error::EndOfStream),
        }
    }

    pub fn next(&mut self) -> Result<(Item, Mark), Error> {
        match self.peeked.take() {
            Some(next) => Ok(next),
            None => self.pull(),
        }
    }

    /// Called once the root value is deserialized: the document must end
    /// here and no second document may follow.
    pub fn finish(mut self) -> Result<(), Error> {
        if let Some(error) = self.failed.take() {
            return Err(error);
        }
        if self.stage == Stage::StreamOver {
            return Ok(());
        }
        loop {
            match self.parser.next_event()?.0 {
                Event::DocumentEnd => break,
                Event::StreamEnd => return Ok(()),
                // Left over only if a visitor stopped early; serde_yaml
                // ignores such events too.
                _ => {}
            }
        }
        match self.parser.next_event() {
            Ok((Event::StreamEnd, _)) => Ok(()),
            _ => Err(Error::MoreThanOneDocument),
        }
    }

    fn pull(&mut self) -> Result<(Item, Mark), Error> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        let pulled = self.pull_unchecked();
        if let Err(error) = &pulled {
            self.failed = Some(error.clone());
        }
        pulled
    }

    fn pull_unchecked(&mut self) -> Result<(Item, Mark), Error> {
        loop {
            if let Some(next) = self.pull_replayed()? {
                return Ok(next);
            }
            if self.stage == Stage::StreamOver {
                return Err(Error::EndOfStream);
            }
            let (event, mark) = self.parser.next_event()?;
            self.parsed += 1;
            let (anchor, item) = match event {
                Event::StreamStart | Event::DocumentStart => continue,
                Event::StreamEnd if self.stage == Stage::BeforeRoot => {
                    self.stage = Stage::StreamOver;
                    return Ok((Item::Void, mark));
                }
                Event::StreamEnd | Event::DocumentEnd => return Err(Error::EndOfStream),
                Event::Alias(name) => {
                    let id = self.resolve(&name, mark)?;
                    if !self.recording.is_empty() {
                        self.log.push(Logged::Alias(id));
                    }
                    self.start_replay(id);
                    continue;
                }
                Event::Scalar(mut scalar) => (scalar.anchor.take(), Item::Scalar(scalar)),
                Event::SequenceStart { anchor, tag } => (anchor, Item::SequenceStart { tag }),
                Event::SequenceEnd => (None, Item::SequenceEnd),
                Event::MappingStart { anchor, tag } => (anchor, Item::MappingStart { tag }),
                Event::MappingEnd => (None, Item::MappingEnd),
            };
            self.stage = Stage::InDocument;
            self.record(anchor, &item, mark);
            return Ok((item, mark));
        }
    }

    fn pull_replayed(&mut self) -> Result<Option<(Item, Mark)>, Error> {
        while let Some(cursor) = self.replay.last_mut() {
            if cursor.0 >= cursor.1 {
                self.replay.pop();
                continue;
            }
            let position = cursor.0;
            cursor.0 += 1;
            match self.log.get(position) {
                Some(Logged::Item(item, mark)) => {
                    self.replayed += 1;
                    if self.replayed > self.parsed * REPLAY_FACTOR + REPLAY_ALLOWANCE {
                        return Err(Error::RepetitionLimitExceeded);
                    }
                    return Ok(Some((item.clone(), *mark)));
                }
                Some(Logged::Alias(id)) => {
                    let id = *id;
                    self.start_replay(id);
                }
                None => {
                    self.replay.pop();
                }
            }
        }
        Ok(None)
    }

    fn resolve(&self, name: &[u8], mark: Mark) -> Result<usize, Error> {
        let id = *self.anchors.get(name).ok_or(Error::UnknownAnchor(mark))?;
        match self.nodes.get(id) {
            Some(AnchoredNode { end: Some(_), .. }) => Ok(id),
            _ => Err(Error::RecursiveAlias(mark)),
        }
    }

    fn start_replay(&mut self, id: usize) {
        if let Some(AnchoredNode {
            start,
            end: Some(end),
        }) = self.nodes.get(id)
        {
            self.replay.push((*start, *end));
        }
    }

    /// Logs `item` if it belongs to an anchored node, opening and closing
    /// recordings as nodes start and end.
    fn record(&mut self, anchor: Option<Box<[u8]>>, item: &Item, mark: Mark) {
        let opens = matches!(item, Item::SequenceStart { .. } | Item::MappingStart { .. });
        if matches!(item, Item::SequenceEnd | Item::MappingEnd) {
            self.depth = self.depth.saturating_sub(1);
        }
        if let Some(name) = anchor {
            let id = self.nodes.len();
            self.nodes.push(AnchoredNode {
                start: self.log.len(),
                end: None,
            });
            self.anchors.insert(name, id);
            self.recording.push((id, self.depth));
        }
        if !self.recording.is_empty() {
            self.log.push(Logged::Item(item.clone(), mark));
        }
        if opens {
            self.depth += 1;
            return;
        }
        while let Some(&(id, depth)) = self.recording.last() {
            if depth != self.depth {
                break;
            }
            self.recording.pop();
            if let Some(node) = self.nodes.get_mut(id) {
                node.end = Some(self.log.len());
            }
        }
    }
}
