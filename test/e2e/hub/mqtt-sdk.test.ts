import { MQTT, hubScenarios } from './scenarios.js';

hubScenarios(MQTT);
