//! [`GuestCalls`] for the generated `Plugin` of one interface version: argument
//! conversion, the call, result conversion. The version's own differences come from
//! the hooks `super::agreement_outcome` and `super::describe`.

use callscope_api_types as api;
use wasmtime::Store;
use wasmtime::component::ResourceAny;

use super::bindings::Plugin;
use super::bindings::exports::callscope::plugin::annotation as wit;
use super::convert;
use super::review_convert as review;
use crate::runtime::guest::{GuestCalls, Outcome};
use crate::runtime::sandbox::SandboxState;
use crate::runtime::{
    CallBounds, ExportFormat, ExportRow, MeasurementLevel, OtlpEncoding, OtlpSpan, ParsedEvent, PeaksFileFormat,
    QueueCandidate, RankedCall, RejectedInput,
};

type GuestStore = Store<SandboxState>;

impl GuestCalls for Plugin {
    fn normalize(&self, store: &mut GuestStore, payload: &[u8]) -> Outcome<api::NormalizedCall> {
        let result = self.callscope_plugin_ingest().call_normalize(store, payload)?;
        Ok(result.map(convert::normalized_call).map_err(convert::ingest_error))
    }

    fn split_otlp(&self, store: &mut GuestStore, body: &[u8], encoding: OtlpEncoding) -> Outcome<Vec<OtlpSpan>> {
        let result = self.callscope_plugin_ingest().call_split_otlp(store, body, convert::otlp_encoding_to_wit(encoding))?;
        Ok(result
            .map(|spans| {
                spans
                    .into_iter()
                    .map(|s| OtlpSpan {
                        conversation_id: s.conversation_id,
                        trace_id: s.trace_id,
                        span_id: s.span_id,
                        span_json: s.span_json,
                    })
                    .collect()
            })
            .map_err(convert::ingest_error))
    }

    fn normalize_spans(&self, store: &mut GuestStore, spans: &[String]) -> Outcome<api::NormalizedCall> {
        let result = self.callscope_plugin_ingest().call_normalize_spans(store, spans)?;
        Ok(result.map(convert::normalized_call).map_err(convert::ingest_error))
    }

    fn parse_events(&self, store: &mut GuestStore, events: &[Vec<u8>]) -> Outcome<Vec<Result<ParsedEvent, String>>> {
        let results = self.callscope_plugin_ingest().call_parse_events(store, events)?;
        Ok(Ok(results
            .into_iter()
            .map(|r| r.map(|e| ParsedEvent { id: e.id, call_id: e.call_id, event_type: e.event_type, json: e.json }))
            .collect()))
    }

    fn encode_peaks(
        &self,
        store: &mut GuestStore,
        level: &api::PeaksLevel,
        sample_rate: u32,
        format: PeaksFileFormat,
        bits: u8,
    ) -> Outcome<Vec<u8>> {
        use super::bindings::exports::callscope::plugin::audio::PeaksFormat;
        let format = match format {
            PeaksFileFormat::Dat => PeaksFormat::Dat,
            PeaksFileFormat::Json => PeaksFormat::Json,
        };
        let level = convert::peaks_level_to_wit(level);
        let result = self.callscope_plugin_audio().call_encode_peaks(store, &level, sample_rate, format, bits)?;
        Ok(result.map_err(convert::audio_error))
    }

    fn recording_new(&self, store: &mut GuestStore) -> wasmtime::Result<ResourceAny> {
        self.callscope_plugin_audio().recording().call_constructor(store)
    }

    fn recording_push(&self, store: &mut GuestStore, recording: ResourceAny, chunk: &[u8]) -> Outcome<Vec<u8>> {
        let result = self.callscope_plugin_audio().recording().call_push(store, recording, chunk)?;
        Ok(result.map_err(convert::audio_error))
    }

    fn recording_finish(&self, store: &mut GuestStore, recording: ResourceAny) -> Outcome<api::AudioSummary> {
        let result = self.callscope_plugin_audio().recording().call_finish(store, recording)?;
        Ok(result.map(convert::audio_summary).map_err(convert::audio_error))
    }

    fn peaks_new(&self, store: &mut GuestStore, channels: u16, sample_rate: u32) -> wasmtime::Result<ResourceAny> {
        self.callscope_plugin_audio().pcm16_peaks().call_constructor(store, channels, sample_rate)
    }

    fn peaks_push(&self, store: &mut GuestStore, peaks: ResourceAny, chunk: &[u8]) -> Outcome<()> {
        let result = self.callscope_plugin_audio().pcm16_peaks().call_push(store, peaks, chunk)?;
        Ok(result.map_err(convert::audio_error))
    }

    fn peaks_finish(&self, store: &mut GuestStore, peaks: ResourceAny) -> Outcome<Vec<api::PeaksLevel>> {
        let result = self.callscope_plugin_audio().pcm16_peaks().call_finish(store, peaks)?;
        Ok(result.map(|levels| levels.into_iter().map(convert::peaks_level).collect()).map_err(convert::audio_error))
    }

    fn analyze(
        &self,
        store: &mut GuestStore,
        utterances: &[api::Utterance],
        activity: &[api::ChannelActivity],
        layout: api::ChannelLayout,
        settings: &api::AnalysisSettings,
    ) -> Outcome<api::CallAnalysis> {
        let utterances: Vec<_> = utterances.iter().map(convert::utterance_to_wit).collect();
        let activity: Vec<_> = activity.iter().map(convert::activity_to_wit).collect();
        let result = self.callscope_plugin_analysis().call_analyze(
            store,
            &utterances,
            &activity,
            convert::layout_to_wit(layout),
            convert::settings_to_wit(settings),
        )?;
        Ok(result.map(convert::call_analysis).map_err(RejectedInput::Analysis))
    }

    fn parse_role_map(&self, store: &mut GuestStore, json: &str) -> Outcome<Vec<api::RoleGrant>> {
        let result = self.callscope_plugin_policy().call_parse_role_map(store, json)?;
        Ok(result
            .map(|grants| grants.into_iter().map(review::role_grant).collect())
            .map_err(|message| RejectedInput::InvalidConfig(format!("role map: {message}"))))
    }

    fn permissions_of(
        &self,
        store: &mut GuestStore,
        role_map: &[api::RoleGrant],
        roles: &[String],
    ) -> Outcome<Vec<api::Permission>> {
        let role_map: Vec<_> = role_map.iter().map(review::role_grant_to_wit).collect();
        let permissions = self.callscope_plugin_policy().call_permissions_of(store, &role_map, roles)?;
        Ok(Ok(permissions.into_iter().map(review::permission).collect()))
    }

    fn redact_texts(&self, store: &mut GuestStore, texts: &[String]) -> Outcome<Vec<api::RedactedText>> {
        let redacted = self.callscope_plugin_redaction().call_redact_texts(store, texts)?;
        Ok(Ok(redacted
            .into_iter()
            .map(|r| api::RedactedText { text: r.text, marks: r.marks.into_iter().map(review::mark).collect() })
            .collect()))
    }

    fn redact_json(&self, store: &mut GuestStore, json: &str) -> Outcome<String> {
        let result = self.callscope_plugin_redaction().call_redact_json(store, json)?;
        Ok(result.map_err(RejectedInput::InvalidJson))
    }

    fn redact_utterances(
        &self,
        store: &mut GuestStore,
        utterances: &[api::Utterance],
    ) -> Outcome<Vec<(api::Utterance, Vec<api::RedactionMark>)>> {
        let input: Vec<_> = utterances.iter().map(convert::utterance_to_wit).collect();
        let redacted = self.callscope_plugin_redaction().call_redact_utterances(store, &input)?;
        Ok(Ok(redacted
            .into_iter()
            .map(|(utterance, marks)| (convert::utterance(utterance), marks.into_iter().map(review::mark).collect()))
            .collect()))
    }

    fn parse_schema(&self, store: &mut GuestStore, json: &str) -> Outcome<api::Schema> {
        let result = self.callscope_plugin_annotation().call_parse_schema(store, json)?;
        Ok(result
            .map(review::schema_from_wit)
            .map_err(|problems| RejectedInput::InvalidConfig(format!("annotation schema: {}", problems.join("; ")))))
    }

    fn validate_annotation(
        &self,
        store: &mut GuestStore,
        schema: &api::Schema,
        input: &api::AnnotationInput,
        bounds: &CallBounds,
    ) -> Outcome<()> {
        let bounds = wit::CallBounds {
            duration_ms: bounds.duration_ms,
            utterance_indices: bounds.utterance_indices.clone(),
            channels: bounds.channels,
        };
        let result = self.callscope_plugin_annotation().call_validate_annotation(
            store,
            &review::schema_to_wit(schema),
            &review::annotation_to_wit(schema, input),
            &bounds,
        )?;
        Ok(result.map_err(RejectedInput::InvalidAnnotation))
    }

    fn missing_required(
        &self,
        store: &mut GuestStore,
        schema: &api::Schema,
        annotations: &[api::AnnotationInput],
    ) -> Outcome<Vec<String>> {
        let inputs: Vec<_> = annotations.iter().map(|input| review::annotation_to_wit(schema, input)).collect();
        let missing =
            self.callscope_plugin_annotation().call_missing_required(store, &review::schema_to_wit(schema), &inputs)?;
        Ok(Ok(missing))
    }

    fn review_queue(
        &self,
        store: &mut GuestStore,
        candidates: &[QueueCandidate],
        sample_per_mille: u32,
        seed: u64,
    ) -> Outcome<Vec<RankedCall>> {
        let input: Vec<_> = candidates.iter().map(review::queue_candidate_to_wit).collect();
        let ranked = self.callscope_plugin_annotation().call_review_queue(store, &input, sample_per_mille, seed)?;
        Ok(Ok(ranked
            .into_iter()
            .map(|entry| RankedCall { call_id: entry.call_id, priority: entry.priority, reason: entry.reason })
            .collect()))
    }

    fn compute_agreement(
        &self,
        store: &mut GuestStore,
        label_id: &str,
        ratings: &[(String, String, String)],
        level: MeasurementLevel,
    ) -> Outcome<api::LabelAgreement> {
        let input: Vec<_> = ratings
            .iter()
            .map(|(item, annotator, value)| wit::Rating { item: item.clone(), annotator: annotator.clone(), value: value.clone() })
            .collect();
        let result = self.callscope_plugin_annotation().call_compute_agreement(
            store,
            &input,
            review::measurement_level_to_wit(level),
        )?;
        Ok(super::agreement_outcome(result)
            .map(|agreement| api::LabelAgreement {
                label_id: label_id.to_owned(),
                annotators: agreement.annotators,
                items: agreement.items,
                cohen_kappa: agreement.cohen_kappa,
                krippendorff_alpha: agreement.krippendorff_alpha,
                observed_agreement: agreement.observed_agreement,
            })
            .map_err(|message| RejectedInput::InvalidAnnotation(format!("label {label_id}: {message}"))))
    }

    fn export_rows(&self, store: &mut GuestStore, rows: &[ExportRow], format: ExportFormat, redact: bool) -> Outcome<String> {
        let input: Vec<_> = rows.iter().map(review::export_row_to_wit).collect();
        let text = self.callscope_plugin_annotation().call_export_rows(
            store,
            &input,
            review::export_format_to_wit(format),
            redact,
        )?;
        Ok(Ok(text))
    }

    fn describe(&self, store: &mut GuestStore) -> Outcome<Option<api::ComponentInfo>> {
        super::describe(self, store).map(Ok)
    }
}
