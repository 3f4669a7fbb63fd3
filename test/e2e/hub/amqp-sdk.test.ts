import { AMQP, hubScenarios } from './scenarios.js';

hubScenarios(AMQP);
