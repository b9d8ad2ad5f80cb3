//! The only `unsafe` of the config parser: a safe, pull-style wrapper over
//! the libyaml event parser of `unsafe-libyaml` (the same parser serde_yaml
//! uses, so the YAML dialect and the syntax-error texts are identical).
//!
//! [`Parser::next_event`] hands out one owned [`Event`] at a time; libyaml's
//! own event is freed before returning, so nothing here grows with the size
//! of the document.

use std::ffi::{c_char, CStr};
use std::fmt;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::ptr::NonNull;

use unsafe_libyaml as unsafe_sys;

/// A position in the input. `line` and `column` are 0-based, as libyaml
/// reports them; [`fmt::Display`] prints them 1-based like serde_yaml.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mark {
    pub index: u64,
    pub line: u64,
    pub column: u64,
}

impl Mark {
    /// serde_yaml omits positions of the very first byte (line 1 column 1)
    /// from messages; the callers need to know when that applies.
    pub fn is_start(&self) -> bool {
        self.line == 0 && self.column == 0
    }

    fn from_sys(mark: unsafe_sys::yaml_mark_t) -> Mark {
        Mark {
            index: mark.index,
            line: mark.line,
            column: mark.column,
        }
    }
}

impl fmt::Display for Mark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_start() {
            write!(f, "position {}", self.index)
        } else {
            write!(f, "line {} column {}", self.line + 1, self.column + 1)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarStyle {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
}

/// A scalar as libyaml reports it: the value is the unescaped text, not
/// yet resolved to null/bool/int/float (that depends on what serde asks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scalar {
    pub anchor: Option<Box<[u8]>>,
    pub tag: Option<Box<[u8]>>,
    pub value: Box<[u8]>,
    pub style: ScalarStyle,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    StreamStart,
    StreamEnd,
    DocumentStart,
    DocumentEnd,
    Alias(Box<[u8]>),
    Scalar(Scalar),
    SequenceStart {
        anchor: Option<Box<[u8]>>,
        tag: Option<Box<[u8]>>,
    },
    SequenceEnd,
    MappingStart {
        anchor: Option<Box<[u8]>>,
        tag: Option<Box<[u8]>>,
    },
    MappingEnd,
}

/// A syntax (or encoding) error reported by libyaml, formatted the way
/// serde_yaml formats it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub problem: String,
    pub problem_offset: u64,
    pub problem_mark: Mark,
    pub context: Option<String>,
    pub context_mark: Mark,
}

impl SyntaxError {
    fn without_libyaml_detail(problem: &str) -> SyntaxError {
        SyntaxError {
            problem: problem.to_string(),
            problem_offset: 0,
            problem_mark: Mark::default(),
            context: None,
            context_mark: Mark::default(),
        }
    }
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.problem)?;
        if !self.problem_mark.is_start() {
            write!(f, " at {}", self.problem_mark)?;
        } else if self.problem_offset != 0 {
            write!(f, " at position {}", self.problem_offset)?;
        }
        if let Some(context) = &self.context {
            write!(f, ", {context}")?;
            if !self.context_mark.is_start()
                && (self.context_mark.line, self.context_mark.column)
                    != (self.problem_mark.line, self.problem_mark.column)
            {
                write!(f, " at {}", self.context_mark)?;
            }
        }
        Ok(())
    }
}

/// A libyaml parser reading from a borrowed byte slice.
pub struct Parser<'input> {
    /// Heap-allocated because libyaml keeps a pointer to the parser itself
    /// (its read-handler data); it must never move.
    raw: NonNull<unsafe_sys::yaml_parser_t>,
    input: PhantomData<&'input [u8]>,
}

impl<'input> Parser<'input> {
    pub fn new(input: &'input [u8]) -> Result<Parser<'input>, SyntaxError> {
        let boxed: Box<MaybeUninit<unsafe_sys::yaml_parser_t>> = Box::new(MaybeUninit::uninit());
        let raw = NonNull::from(Box::leak(boxed)).cast::<unsafe_sys::yaml_parser_t>();
        // SAFETY: `raw` is a valid, uniquely owned allocation of the right
        // size and alignment (leaked from the box above, freed in `Drop` or
        // below). `yaml_parser_initialize` zeroes it before writing any
        // field, so it is initialized afterwards. `input` outlives the
        // parser (the `'input` lifetime of `Self`), which is what
        // `yaml_parser_set_input_string` requires.
        unsafe {
            if unsafe_sys::yaml_parser_initialize(raw.as_ptr()).fail {
                drop(Box::from_raw(
                    raw.cast::<MaybeUninit<unsafe_sys::yaml_parser_t>>()
                        .as_ptr(),
                ));
                return Err(SyntaxError::without_libyaml_detail(
                    "libyaml parser could not be initialized",
                ));
            }
            unsafe_sys::yaml_parser_set_encoding(raw.as_ptr(), unsafe_sys::YAML_UTF8_ENCODING);
            unsafe_sys::yaml_parser_set_input_string(
                raw.as_ptr(),
                input.as_ptr(),
                input.len() as u64,
            );
        }
        Ok(Parser {
            raw,
            input: PhantomData,
        })
    }

    /// The next event and the mark of its start. After an error, every
    /// further call returns the same error (libyaml's state is sticky).
    pub fn next_event(&mut self) -> Result<(Event, Mark), SyntaxError> {
        let parser = self.raw.as_ptr();
        let mut event = MaybeUninit::<unsafe_sys::yaml_event_t>::uninit();
        // SAFETY: `parser` was initialized in `new` and is exclusively
        // borrowed through `&mut self`. On success `yaml_parser_parse` fully
        // initializes `event`; we copy everything we need out of it (the
        // pointers it holds are valid NUL-terminated strings or a value of
        // `length` bytes, per libyaml's contract) and free it exactly once
        // with `yaml_event_delete`. On failure `event` is not read.
        unsafe {
            if (&*parser).error != unsafe_sys::YAML_NO_ERROR {
                return Err(syntax_error(parser));
            }
            if unsafe_sys::yaml_parser_parse(parser, event.as_mut_ptr()).fail {
                return Err(syntax_error(parser));
            }
            let event = event.as_mut_ptr();
            let converted = convert_event(&*event);
            let mark = Mark::from_sys((*event).start_mark);
            unsafe_sys::yaml_event_delete(event);
            Ok((converted, mark))
        }
    }
}

impl Drop for Parser<'_> {
    fn drop(&mut self) {
        let raw = self.raw.as_ptr();
        // SAFETY: `raw` came from `Box::into_raw` in `new` and was
        // initialized there; it is deleted and freed exactly once, here.
        unsafe {
            unsafe_sys::yaml_parser_delete(raw);
            drop(Box::from_raw(
                raw.cast::<MaybeUninit<unsafe_sys::yaml_parser_t>>(),
            ));
        }
    }
}

/// # Safety
/// `parser` must point to an initialized parser whose `problem` and
/// `context` are null or static NUL-terminated strings (libyaml's contract).
unsafe fn syntax_error(parser: *const unsafe_sys::yaml_parser_t) -> SyntaxError {
    // SAFETY: guaranteed by the caller (see above).
    unsafe {
        let parser: &unsafe_sys::yaml_parser_t = &*parser;
        let problem = match owned_c_string(parser.problem.cast()) {
            Some(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            None => "libyaml parser failed but there is no error".to_string(),
        };
        SyntaxError {
            problem,
            problem_offset: parser.problem_offset,
            problem_mark: Mark::from_sys(parser.problem_mark),
            context: owned_c_string(parser.context.cast())
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
            context_mark: Mark::from_sys(parser.context_mark),
        }
    }
}

/// # Safety
/// `event` must be an event just produced by `yaml_parser_parse`: the
/// union member matching `type_` is the valid one and its pointers are null
/// or valid (anchors/tags NUL-terminated, the scalar value `length` bytes).
unsafe fn convert_event(event: &unsafe_sys::yaml_event_t) -> Event {
    // SAFETY: guaranteed by the caller (see above); each arm reads only the
    // union member of its own event type.
    unsafe {
        match event.type_ {
            unsafe_sys::YAML_STREAM_START_EVENT => Event::StreamStart,
            unsafe_sys::YAML_DOCUMENT_START_EVENT => Event::DocumentStart,
            unsafe_sys::YAML_DOCUMENT_END_EVENT => Event::DocumentEnd,
            unsafe_sys::YAML_ALIAS_EVENT => {
                Event::Alias(owned_c_string(event.data.alias.anchor).unwrap_or_default())
            }
            unsafe_sys::YAML_SCALAR_EVENT => {
                let scalar = &event.data.scalar;
                let value = match NonNull::new(scalar.value) {
                    Some(value) => {
                        std::slice::from_raw_parts(value.as_ptr(), scalar.length as usize).into()
                    }
                    None => Box::default(),
                };
                Event::Scalar(Scalar {
                    anchor: owned_c_string(scalar.anchor),
                    tag: owned_c_string(scalar.tag),
                    value,
                    style: match scalar.style {
                        unsafe_sys::YAML_SINGLE_QUOTED_SCALAR_STYLE => ScalarStyle::SingleQuoted,
                        unsafe_sys::YAML_DOUBLE_QUOTED_SCALAR_STYLE => ScalarStyle::DoubleQuoted,
                        unsafe_sys::YAML_LITERAL_SCALAR_STYLE => ScalarStyle::Literal,
                        unsafe_sys::YAML_FOLDED_SCALAR_STYLE => ScalarStyle::Folded,
                        // The parser only reports "any" style for events it
                        // did not read from text; treat it as plain.
                        _ => ScalarStyle::Plain,
                    },
                })
            }
            unsafe_sys::YAML_SEQUENCE_START_EVENT => Event::SequenceStart {
                anchor: owned_c_string(event.data.sequence_start.anchor),
                tag: owned_c_string(event.data.sequence_start.tag),
            },
            unsafe_sys::YAML_SEQUENCE_END_EVENT => Event::SequenceEnd,
            unsafe_sys::YAML_MAPPING_START_EVENT => Event::MappingStart {
                anchor: owned_c_string(event.data.mapping_start.anchor),
                tag: owned_c_string(event.data.mapping_start.tag),
            },
            unsafe_sys::YAML_MAPPING_END_EVENT => Event::MappingEnd,
            // STREAM_END, and the empty event libyaml returns once the stream
            // is over: either way there is nothing more.
            _ => Event::StreamEnd,
        }
    }
}

/// # Safety
/// `text` must be null or point to a NUL-terminated string.
unsafe fn owned_c_string(text: *const u8) -> Option<Box<[u8]>> {
    let text = NonNull::new(text.cast_mut())?;
    // SAFETY: guaranteed by the caller.
    let text = unsafe { CStr::from_ptr(text.as_ptr().cast::<c_char>()) };
    Some(text.to_bytes().into())
}
