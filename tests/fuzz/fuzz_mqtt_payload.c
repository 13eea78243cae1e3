/*
 * fuzz_mqtt_payload.c -- every MQTT payload decoder of src/mqtt. The first
 * byte picks the decoder; the rest is the payload. A payload that decodes
 * must encode again, and the encoding must decode (round trip).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt/mqtt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ROUND(type, dec, enc, clean) do { \
	type a_, b_; char *out_ = NULL; \
	memset(&a_, 0, sizeof(a_)); memset(&b_, 0, sizeof(b_)); \
	if (dec(p, n, &a_, NULL) == CORE_OK && \
	    enc(&a_, &out_, NULL) == CORE_OK) { \
		if (dec(out_, strlen(out_), &b_, NULL) != CORE_OK) \
			abort(); \
	} \
	free(out_); clean(&a_); clean(&b_); } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p;
	size_t n;

	if (size < 1)
		return 0;
	p = data + 1;
	n = size - 1;
	switch (data[0] % 11) {
	case 0: ROUND(struct mqtt_start, mqtt_start_decode, mqtt_start_encode,
	    mqtt_start_cleanup); break;
	case 1: ROUND(struct mqtt_stop, mqtt_stop_decode, mqtt_stop_encode,
	    mqtt_stop_cleanup); break;
	case 2: ROUND(struct mqtt_invoke, mqtt_invoke_decode,
	    mqtt_invoke_encode, mqtt_invoke_cleanup); break;
	case 3: ROUND(struct mqtt_discovery, mqtt_discovery_decode,
	    mqtt_discovery_encode, mqtt_discovery_cleanup); break;
	case 4: ROUND(struct mqtt_heartbeat, mqtt_heartbeat_decode,
	    mqtt_heartbeat_encode, mqtt_heartbeat_cleanup); break;
	case 5: ROUND(struct mqtt_result, mqtt_result_decode,
	    mqtt_result_encode, mqtt_result_cleanup); break;
	case 6: ROUND(struct mqtt_invoke_result, mqtt_invoke_result_decode,
	    mqtt_invoke_result_encode, mqtt_invoke_result_cleanup); break;
	case 7: ROUND(struct mqtt_task_metrics, mqtt_task_metrics_decode,
	    mqtt_task_metrics_encode, mqtt_task_metrics_cleanup); break;
	case 8: ROUND(struct mqtt_proplet_metrics, mqtt_proplet_metrics_decode,
	    mqtt_proplet_metrics_encode, mqtt_proplet_metrics_cleanup); break;
	case 9: ROUND(struct mqtt_chunk, mqtt_chunk_decode, mqtt_chunk_encode,
	    mqtt_chunk_cleanup); break;
	default: ROUND(struct mqtt_chunk_request, mqtt_chunk_request_decode,
	    mqtt_chunk_request_encode, mqtt_chunk_request_cleanup); break;
	}
	return 0;
}
